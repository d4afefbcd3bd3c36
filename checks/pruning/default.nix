# sops-nix VM-2: keepGenerations = 0 prunes nothing; 10 keeps the last ten; non-numeric
# entries of the mount point are never touched.
{ pkgs, self, ... }:
let
  common = import ../common.nix { inherit self; };
in
pkgs.testers.runNixOSTest {
  name = "keyward-pruning";
  nodes.machine =
    { lib, ... }:
    {
      imports = [ common.base ];
      system.switch.enable = true;
      sops.keepGenerations = lib.mkDefault 0;
      sops.secrets."postgres/password" = { };
      specialisation.pruning.configuration.sops.keepGenerations = 10;
    };
  testScript = ''
    machine.wait_for_unit("multi-user.target")
    machine.succeed("mkdir /run/secrets.d/{2..99} /run/secrets.d/non-numeric")
    machine.succeed("ln -fsn /run/secrets.d/99 /run/secrets")
    machine.succeed("/run/current-system/activate")
    machine.succeed("test -d /run/secrets.d/100")
    machine.succeed("test -d /run/secrets.d/1 && test -d /run/secrets.d/90 && test -d /run/secrets.d/non-numeric")
    machine.succeed("/run/current-system/specialisation/pruning/bin/switch-to-configuration test")
    machine.fail("test -d /run/secrets.d/91")
    machine.succeed("test -d /run/secrets.d/92 && test -d /run/secrets.d/non-numeric")
  '';
}
