# keyward: switching to an unchanged configuration does nothing: no new generation, no
# restarts, no change-log lines.
{ pkgs, self, ... }:
let
  common = import ../common.nix { inherit self; };
in
pkgs.testers.runNixOSTest {
  name = "keyward-unchanged-switch";
  nodes.machine = {
    imports = [ common.base ];
    system.switch.enable = true;
    sops.secrets."postgres/password".restartUnits = [ "marker.service" ];
    systemd.services.marker.serviceConfig.ExecStart = "/bin/sh -c 'echo ok > /restarted'";
  };
  testScript = ''
    machine.wait_for_unit("multi-user.target")
    before = machine.succeed("readlink /run/secrets; stat -c %Y /run/secrets/postgres/password")
    o = machine.succeed("/run/current-system/bin/switch-to-configuration test 2>&1")
    assert "secret:" not in o, o
    assert machine.succeed("readlink /run/secrets; stat -c %Y /run/secrets/postgres/password") == before
    machine.fail("test -f /restarted")
  '';
}
