# sops-nix VM-4: an ed25519 SSH host key as the age identity (ssh-to-age), with a generated
# age key file next to it (appending one must not break anything).
{ pkgs, self, ... }:
pkgs.testers.runNixOSTest {
  name = "keyward-age-ssh-keys";
  nodes.machine =
    { lib, ... }:
    {
    imports = [ self.nixosModules.default ];
    # The host key is copied in (not referenced from the store, which keyward refuses).
    system.activationScripts.test-host-key = lib.stringAfter [ "specialfs" ] ''
      install -D -m 0600 ${./ssh-ed25519-key} /etc/ssh/ssh_host_ed25519_key
    '';
    system.activationScripts.setupSecrets.deps = [ "test-host-key" ];
    services.openssh = {
      enable = true;
      hostKeys = [
        {
          type = "ed25519";
          path = "/etc/ssh/ssh_host_ed25519_key"; # TEST MATERIAL, see PROVENANCE.md
        }
      ];
    };
    sops.defaultSopsFile = ./secrets.yaml;
    sops.age.keyFile = "/var/lib/keyward/generated-key.txt";
    sops.age.generateKey = true;
    sops.secrets.test_key = { };
  };
  testScript = ''
    machine.wait_for_unit("multi-user.target")
    machine.succeed("[ \"$(cat /run/secrets/test_key)\" = test_value ]")
    machine.succeed("[ \"$(stat -c %a /var/lib/keyward/generated-key.txt)\" = 600 ]")
  '';
}
