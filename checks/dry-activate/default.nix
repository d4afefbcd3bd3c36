# keyward: dry-activate reports what would change and writes nothing: no new generation
# directory (sops-nix leaves a decrypted one behind), no link switch, no unit actions.
{ pkgs, self, ... }:
let
  common = import ../common.nix { inherit self; };
in
pkgs.testers.runNixOSTest {
  name = "keyward-dry-activate";
  nodes.machine = {
    imports = [ common.base ];
    system.switch.enable = true;
    sops.secrets."postgres/password" = { };
    specialisation.more.configuration.sops.secrets."grafana/admin-password" = { };
  };
  testScript = ''
    machine.wait_for_unit("multi-user.target")
    before = machine.succeed("ls /run/secrets.d; readlink /run/secrets")
    o = machine.succeed("/run/current-system/specialisation/more/bin/switch-to-configuration dry-activate 2>&1")
    assert "would add secret: grafana/admin-password" in o, o
    assert machine.succeed("ls /run/secrets.d; readlink /run/secrets") == before
    machine.fail("test -e /run/secrets/grafana/admin-password")
    machine.fail("grep -rqF '${common.values.grafanaAdmin}' /run/secrets.d")
  '';
}
