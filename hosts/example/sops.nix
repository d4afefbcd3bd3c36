# The example host's `sops.*` values as plain data: no lib, no pkgs, no `config`. The host
# (./default.nix) uses them as its configuration, and tests/nix/example-plan.nix feeds the same
# values to the pure plan function to make the checked-in demo plan (./plan.json), so the demo
# and the host cannot drift apart.
#
# secretsDir  the directory of the sops files: ../../secrets for the host (a Nix path, copied
#             to the store by the module), the same path for the demo plan (rendered
#             repository-relative there).
# placeholder config.sops.placeholder, or the plan function's placeholders for the demo.
{ secretsDir, placeholder }:
{
  defaultSopsFile = secretsDir + "/example.yaml";
  # TEST MATERIAL: the VM tests and the demo put hosts/example/test-age-key.txt here.
  age.keyFile = "/var/lib/sops-nix/key.txt";
  # The host key is itself a secret (below), so it cannot also be what opens the secrets.
  age.sshKeyPaths = [ ];
  # keyward's own: Prometheus textfile metrics for the node exporter's textfile collector.
  metrics.directory = "/var/lib/prometheus-node-exporter-text-files";

  secrets = {
    # A service secret: PostgreSQL reads it, and is restarted when it changes.
    "postgres/password" = {
      owner = "postgres";
      restartUnits = [ "postgresql.service" ];
    };
    "grafana/admin-password" = {
      owner = "grafana";
      restartUnits = [ "grafana.service" ];
    };
    # Only used through the template below; root-owned, so grafana cannot read them directly.
    "grafana/smtp/user" = { };
    "grafana/smtp/password" = { };
    # A password hash for users.users.alice.hashedPasswordFile: installed before users exist.
    "users/alice-password-hash".neededForUsers = true;
    # The SSH host key, deployed from a secret and linked where sshd looks for it.
    ssh_host_ed25519_key = {
      mode = "0600";
      path = "/etc/ssh/ssh_host_ed25519_key";
      restartUnits = [ "sshd.service" ];
    };
    # A whole dotenv file for a service's EnvironmentFile.
    "app.env" = {
      sopsFile = secretsDir + "/app.env";
      format = "dotenv";
      key = "";
      restartUnits = [ "demo-app.service" ];
    };
  };

  # Grafana's SMTP settings, rendered with the two secrets in place of their placeholders.
  templates."grafana-smtp.env" = {
    content = ''
      GF_SMTP_ENABLED=true
      GF_SMTP_USER=${placeholder."grafana/smtp/user"}
      GF_SMTP_PASSWORD=${placeholder."grafana/smtp/password"}
    '';
    owner = "grafana";
    restartUnits = [ "grafana.service" ];
  };
}
