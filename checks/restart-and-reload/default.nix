# sops-nix VM-7: restart/reload on change for secrets and templates, nothing at boot or when
# unchanged, the exact change-log lines, and dry activation ("would …", nothing switched).
{ pkgs, self, ... }:
let
  common = import ../common.nix { inherit self; };
  units = {
    restartUnits = [
      "restart-unit.service"
      "reload-unit.service"
    ];
    reloadUnits = [ "reload-trigger.service" ];
  };
in
pkgs.testers.runNixOSTest {
  name = "keyward-restart-and-reload";
  nodes.machine =
    { config, ... }:
    {
      imports = [ common.base ];
      system.switch.enable = true;
      sops.secrets.test_key = units // {
        key = "postgres/password";
      };
      sops.templates.test_template = units // {
        content = "value: ${config.sops.placeholder.test_key}\n";
      };
      systemd.services = {
        restart-unit = {
          description = "Restart unit";
          serviceConfig.ExecStart = "/bin/sh -c 'echo ok > /restarted'";
        };
        reload-unit = {
          description = "Reload unit";
          wantedBy = [ "multi-user.target" ];
          reloadIfChanged = true;
          serviceConfig = {
            Type = "oneshot";
            RemainAfterExit = true;
            ExecStart = "/bin/sh -c true";
            ExecReload = "/bin/sh -c 'echo ok > /reloaded'";
          };
        };
        reload-trigger = {
          description = "Reload trigger";
          wantedBy = [ "multi-user.target" ];
          serviceConfig = {
            Type = "oneshot";
            RemainAfterExit = true;
            ExecStart = "/bin/sh -c true";
            ExecReload = "/bin/sh -c 'echo ok > /reloaded'";
          };
        };
      };
    };
  testScript = ''
    switch = "/run/current-system/bin/switch-to-configuration"
    def out(cmd):
        return machine.succeed(cmd + " 2>&1").replace("setting up /etc...\n", "")

    machine.wait_for_unit("multi-user.target")
    machine.fail("test -f /restarted")
    machine.fail("test -f /reloaded")
    machine.fail("ls /run/nixos/*-list")

    with subtest("unchanged switch restarts nothing"):
        machine.succeed(f"{switch} test")
        machine.fail("test -f /restarted")
        machine.fail("test -f /reloaded")

    with subtest("a changed secret restarts and reloads"):
        machine.succeed(": > /run/secrets/test_key")
        machine.succeed(f"{switch} test")
        machine.succeed("test -f /restarted && test -f /reloaded && rm /restarted /reloaded")
        machine.succeed(": > /run/secrets/rendered/test_template")
        machine.succeed(f"{switch} test")
        machine.succeed("test -f /restarted && test -f /reloaded && rm /restarted /reloaded")

    with subtest("change detection"):
        machine.succeed("rm /run/secrets/test_key /run/secrets/rendered/test_template")
        o = out(f"{switch} test")
        assert "adding secret: test_key\n" in o and "adding rendered secret: test_template\n" in o, o
        machine.succeed(": > /run/secrets/test_key; : > /run/secrets/rendered/test_template")
        o = out(f"{switch} test")
        assert "modifying secret: test_key\n" in o and "modifying rendered secret: test_template\n" in o, o
        machine.succeed("echo x > /run/secrets/another_key; echo x > /run/secrets/rendered/another_template")
        o = out(f"{switch} test")
        assert "removing secret: another_key\n" in o and "removing rendered secret: another_template\n" in o, o
        machine.succeed("rm -f /restarted /reloaded")

    with subtest("dry activation"):
        machine.succeed("rm /run/secrets/test_key /run/secrets/rendered/test_template")
        machine.succeed("echo x > /run/secrets/another_key; echo x > /run/secrets/rendered/another_template")
        o = out(f"{switch} dry-activate")
        for line in ["would add secret: test_key", "would remove secret: another_key",
                     "would add rendered secret: test_template", "would remove rendered secret: another_template"]:
            assert line in o, o
        machine.fail("test -e /run/secrets/test_key")
        machine.succeed("test -e /run/secrets/another_key")
        machine.fail("test -f /restarted")
        machine.fail("test -f /reloaded")
        machine.succeed(f"{switch} test")
        machine.succeed("test -e /run/secrets/test_key && test -e /run/secrets/rendered/test_template")
        machine.fail("test -e /run/secrets/another_key")
  '';
}
