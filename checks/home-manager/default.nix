# sops-nix's home-manager check, run for real: the user service installs the user's secrets
# under %r, renders a template, and runs again on activation.
{
  pkgs,
  self,
  home-manager,
  ...
}:
let
  common = import ../common.nix { inherit self; };
in
pkgs.testers.runNixOSTest {
  name = "keyward-home-manager";
  nodes.machine = {
    imports = [ home-manager.nixosModules.home-manager ];
    users.users.alice = {
      isNormalUser = true;
      uid = 1000;
      linger = true;
    };
    # TEST MATERIAL: alice's copy of the test key.
    systemd.tmpfiles.rules = [ "C /home/alice/.age-key.txt 0400 alice users - ${common.testKey}" ];
    home-manager.users.alice =
      { config, ... }:
      {
        imports = [ self.homeManagerModules.default ];
        home.stateVersion = "25.11";
        sops.defaultSopsFile = common.exampleYaml;
        sops.age.keyFile = "/home/alice/.age-key.txt";
        sops.secrets."grafana/smtp/user" = { };
        sops.secrets.runtime = {
          key = "grafana/smtp/password";
          path = "%r/smtp-password";
        };
        sops.templates."template.toml".content = ''
          password = "${config.sops.placeholder."grafana/smtp/password"}"
        '';
        sops.secrets."grafana/smtp/password" = { };
      };
  };
  testScript = ''
    machine.wait_for_unit("user@1000.service")
    machine.wait_until_succeeds("systemctl --user -M alice@ is-active sops-nix.service || systemctl --machine=alice@ --user show -p Result sops-nix.service | grep -q success")
    machine.succeed("[ \"$(cat /home/alice/.config/sops-nix/secrets/grafana/smtp/user)\" = '${common.values.smtpUser}' ]")
    machine.succeed("[ \"$(cat /run/user/1000/smtp-password)\" = '${common.values.smtpPassword}' ]")
    machine.succeed("grep -qF 'password = \"${common.values.smtpPassword}\"' /home/alice/.config/sops-nix/secrets/rendered/template.toml")
  '';
}
