# sops-nix VM-6: templates render exactly, with owners by name and number, a custom path
# link, and a neededForUsers secret beside them.
{ pkgs, self, ... }:
let
  common = import ../common.nix { inherit self; };
in
pkgs.testers.runNixOSTest {
  name = "keyward-templates";
  nodes.machine =
    { config, ... }:
    {
      imports = [ common.base ];
      users.users.someuser = {
        isSystemUser = true;
        group = "somegroup";
      };
      users.groups.somegroup = { };
      sops.secrets."grafana/smtp/password" = { };
      sops.secrets."users/alice-password-hash".neededForUsers = true;
      sops.templates = {
        test_template = {
          content = ''
            This line is not modified.
            The next value will be replaced by ${config.sops.placeholder."grafana/smtp/password"}
            This line is also not modified.
          '';
          mode = "0400";
          owner = "someuser";
          group = "somegroup";
        };
        test_default = {
          content = "Test value: ${config.sops.placeholder."grafana/smtp/password"}\n";
          path = "/etc/externally/linked";
        };
        test_uid_gid = {
          content = "${config.sops.placeholder."grafana/smtp/password"}";
          uid = 420;
          gid = 420;
        };
      };
    };
  testScript = ''
    machine.wait_for_unit("multi-user.target")
    r = "/run/secrets/rendered"
    machine.succeed(f"[ \"$(stat -c '%U %G %a' {r}/test_template)\" = 'someuser somegroup 400' ]")
    machine.succeed(f"[ \"$(stat -c '%U %G' {r}/test_default)\" = 'root root' ]")
    machine.succeed(f"[ \"$(stat -c '%u %g' {r}/test_uid_gid)\" = '420 420' ]")
    got = machine.succeed(f"cat {r}/test_template")
    assert got == "This line is not modified.\nThe next value will be replaced by ${common.values.smtpPassword}\nThis line is also not modified.\n", got
    assert machine.succeed(f"cat {r}/test_default") == "Test value: ${common.values.smtpPassword}\n"
    machine.succeed("[ \"$(realpath /etc/externally/linked)\" = \"$(realpath /run/secrets.d/1/rendered/test_default)\" ]")
    machine.succeed("test -s /run/secrets-for-users/users/alice-password-hash")
  '';
}
