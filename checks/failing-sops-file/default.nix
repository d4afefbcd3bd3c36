# keyward: a sops file that fails (here: a key that is not in it, after a good boot) keeps the
# old generation in place and fails the unit visibly (systemctl --failed), unlike sops-nix.
{ pkgs, self, ... }:
let
  common = import ../common.nix { inherit self; };
in
pkgs.testers.runNixOSTest {
  name = "keyward-failing-sops-file";
  nodes.machine = {
    imports = [ common.base ];
    system.switch.enable = true;
    sops.useSystemdActivation = true;
    sops.secrets."postgres/password" = { };
    specialisation.broken.configuration = {
      # Not checked at build time, so the failure happens on the machine.
      sops.validateSopsFiles = false;
      sops.secrets.missing.key = "no/such/key";
    };
  };
  testScript = ''
    machine.wait_for_unit("sops-install-secrets.service")
    before = machine.succeed("readlink /run/secrets")
    machine.fail("/run/current-system/specialisation/broken/bin/switch-to-configuration test")
    assert machine.succeed("readlink /run/secrets") == before
    machine.succeed("[ \"$(cat /run/secrets/postgres/password)\" = '${common.values.postgres}' ]")
    machine.succeed("systemctl --failed --no-legend | grep -q sops-install-secrets.service")
    machine.succeed("journalctl -u sops-install-secrets.service | grep -q no/such/key")
  '';
}
