# Shared by the VM scenarios in checks/*/default.nix (this file is not a scenario: the flake
# only picks directories). TEST MATERIAL only: the example host's test age key and secrets.
{ self }:
rec {
  testKey = ../hosts/example/test-age-key.txt;
  exampleYaml = ../secrets/example.yaml;
  appEnv = ../secrets/app.env;
  keyPath = "/run/keyward-test/key.txt";

  # Plaintexts of secrets/example.yaml, for the assertions.
  values = {
    postgres = "correct-horse-battery-staple";
    grafanaAdmin = "grafana-admin-test-password";
    smtpUser = "alerts@example.org";
    smtpPassword = "smtp-test-password";
  };

  # keyward, the example secrets, and the test key placed before keyward runs: by an
  # activation snippet in script mode, by the units' preStart in systemd mode. Only this key
  # reaches the VM; no other private key does.
  base =
    { config, lib, ... }:
    let
      install = "install -D -m 0400 ${testKey} ${keyPath}";
      scriptMode = !config.sops.useSystemdActivation;
      forUsers = lib.any (s: s.neededForUsers) (lib.attrValues config.sops.secrets);
    in
    {
      imports = [ self.nixosModules.default ];
      sops.defaultSopsFile = exampleYaml;
      sops.age.keyFile = keyPath;
      system.activationScripts.keyward-test-key = lib.stringAfter [ "specialfs" ] install;
      system.activationScripts.setupSecrets.deps = lib.mkIf scriptMode [ "keyward-test-key" ];
      system.activationScripts.setupSecretsForUsers.deps = lib.mkIf (scriptMode && forUsers) [
        "keyward-test-key"
      ];
      systemd.services.sops-install-secrets.preStart = lib.mkIf config.sops.useSystemdActivation install;
      systemd.services.sops-install-secrets-for-users.preStart = lib.mkIf (
        config.sops.useSystemdActivation && forUsers
      ) install;
    };
}
