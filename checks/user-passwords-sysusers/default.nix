{ pkgs, self, ... }:
import ../user-passwords.nix {
  inherit pkgs self;
  name = "user-passwords-sysusers";
  extraConfig = {
    systemd.sysusers.enable = true;
    users.mutableUsers = true;
    system.etc.overlay.enable = true;
    boot.initrd.systemd.enable = true;
  };
}
