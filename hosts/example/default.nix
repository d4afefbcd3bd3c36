# The example host: a small NixOS machine using keyward as a sops-nix user would.
#   * PostgreSQL and Grafana with secrets, restarted when those change (restartUnits);
#   * a template: Grafana's SMTP settings rendered from two secrets;
#   * a for-users password hash for alice (neededForUsers);
#   * the SSH host key deployed from a secret.
# The `sops.*` values live in ./sops.nix as plain data, so the demo plan (./plan.json) is made
# from exactly these values without nixpkgs (tests/nix/example-plan.nix).
# TEST MATERIAL: the secrets are encrypted to hosts/example/test-age-key.txt.
{ config, lib, ... }:
let
  secrets = config.sops.secrets;
  ids = import ./users.nix;
in
{
  sops = import ./sops.nix {
    secretsDir = ../../secrets;
    inherit (config.sops) placeholder;
  };

  users.mutableUsers = false;
  users.users.alice = {
    isNormalUser = true;
    inherit (ids.users.alice) uid;
    extraGroups = [ "wheel" ];
    hashedPasswordFile = secrets."users/alice-password-hash".path;
  };

  services.openssh = {
    enable = true;
    # The host key is a secret, linked to this path by keyward; sshd must not make its own.
    hostKeys = [
      {
        path = secrets.ssh_host_ed25519_key.path;
        type = "ed25519";
      }
    ];
  };

  # PostgreSQL owns its password secret and is restarted when it changes.
  services.postgresql.enable = true;

  services.grafana = {
    enable = true;
    settings.security.admin_password = "$__file{${secrets."grafana/admin-password".path}}";
  };
  systemd.services.grafana = {
    serviceConfig.EnvironmentFile = config.sops.templates."grafana-smtp.env".path;
    # Ordering for the systemd-activation case; with activation scripts secrets exist earlier.
    after = [ "sops-install-secrets.service" ];
  };

  # A service reading a whole dotenv file.
  systemd.services.demo-app = {
    wantedBy = [ "multi-user.target" ];
    serviceConfig = {
      EnvironmentFile = secrets."app.env".path;
      ExecStart = "/bin/sh -c 'echo demo-app started with DEBUG=$DEBUG'";
      Type = "oneshot";
      RemainAfterExit = true;
      DynamicUser = true;
    };
  };

  # Minimal boot settings so the host evaluates and builds as a VM (nixos-rebuild build-vm).
  boot.loader.grub.device = "nodev";
  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
  system.stateVersion = "25.11";
}
