# sops-nix VM-8/9/10: a neededForUsers hash used as hashedPasswordFile, with users created by
# the activation script, by systemd-sysusers or by userborn; it survives a switch.
{
  pkgs,
  self,
  name,
  extraConfig ? { },
}:
let
  common = import ./common.nix { inherit self; };
in
pkgs.testers.runNixOSTest {
  name = "keyward-${name}";
  nodes.machine =
    { config, lib, ... }:
    {
      imports = [
        common.base
        extraConfig
      ];
      system.switch.enable = true;
      sops.secrets."users/alice-password-hash".neededForUsers = true;
      sops.secrets."grafana/smtp/user".owner = "alice";
      users.users.alice = {
        isNormalUser = true;
        uid = 1000;
        hashedPasswordFile = config.sops.secrets."users/alice-password-hash".path;
      };
    };
  testScript = ''
    machine.wait_for_unit("multi-user.target")
    machine.succeed("getent shadow alice | grep -qF ':$6$exampleSalt$'")
    machine.succeed("[ \"$(cat /run/secrets/grafana/smtp/user)\" = '${common.values.smtpUser}' ]")
    machine.succeed("[ \"$(stat -c %U /run/secrets/grafana/smtp/user)\" = alice ]")
    machine.succeed("test -s /run/secrets-for-users/users/alice-password-hash")
    machine.succeed("/run/current-system/bin/switch-to-configuration test")
    machine.succeed("test -s /run/secrets-for-users/users/alice-password-hash")
    machine.succeed("test -s /run/secrets/grafana/smtp/user")
  '';
}
