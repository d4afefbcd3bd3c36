# sops-nix VM-3: an age key file; owners by name and by number (also ids with no user); a
# pre-existing /run/secrets directory is replaced by the link.
{ pkgs, self, ... }:
let
  common = import ../common.nix { inherit self; };
in
pkgs.testers.runNixOSTest {
  name = "keyward-age-keys";
  nodes.machine = {
    imports = [ common.base ];
    boot.initrd.postDeviceCommands = "mkdir -p /run/secrets";
    users.users.someuser = {
      isSystemUser = true;
      uid = 1000;
      group = "somegroup";
    };
    users.groups.somegroup.gid = 1000;
    sops.secrets = {
      test_key.key = "postgres/password";
      test_key_someuser_somegroup = {
        key = "postgres/password";
        owner = "someuser";
        group = "somegroup";
      };
      test_key_someuser_root = {
        key = "postgres/password";
        owner = "someuser";
        group = "root";
      };
      test_key_1001_1001 = {
        key = "postgres/password";
        uid = 1001;
        gid = 1001;
      };
    };
  };
  testScript = ''
    machine.wait_for_unit("multi-user.target")
    machine.succeed("test -L /run/secrets")
    machine.succeed("[ \"$(cat /run/secrets/test_key)\" = '${common.values.postgres}' ]")
    with subtest("ownership"):
        machine.succeed("[ \"$(stat -c '%u %g %U %G %a' /run/secrets/test_key_someuser_somegroup)\" = '1000 1000 someuser somegroup 400' ]")
        machine.succeed("[ \"$(stat -c '%u %g %U %G' /run/secrets/test_key_someuser_root)\" = '1000 0 someuser root' ]")
        machine.succeed("[ \"$(stat -c '%u %g %U %G' /run/secrets/test_key_1001_1001)\" = '1001 1001 UNKNOWN UNKNOWN' ]")
  '';
}
