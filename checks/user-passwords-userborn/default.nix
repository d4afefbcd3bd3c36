{ pkgs, self, ... }:
import ../user-passwords.nix {
  inherit pkgs self;
  name = "user-passwords-userborn";
  extraConfig = {
    services.userborn.enable = true;
    users.mutableUsers = false;
    system.etc.overlay.enable = true;
    boot.initrd.systemd.enable = true;
  };
}
