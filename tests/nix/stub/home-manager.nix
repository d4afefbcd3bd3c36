# The few home-manager options keyward's home-manager module touches.
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
    systemd.user.services = mkOption {
      type = types.attrsOf types.anything;
      default = { };
    };
    home.activation = mkOption {
      type = types.attrsOf types.anything;
      default = { };
    };
    xdg.configHome = mkOption {
      type = types.str;
      default = "/home/alice/.config";
    };
  };
}
