# The few NixOS options the modules touch, so they evaluate with nixpkgs' lib alone
# (nix-offline.md §2.1, plus what keyward reads: users' uids and groups' gids, host keys,
# sysusers/userborn switches).
{ lib, ... }:
let
  inherit (lib) mkOption types;
  anything = default: mkOption {
    type = types.anything;
    inherit default;
  };
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    system.activationScripts = mkOption {
      type = types.attrsOf types.unspecified;
      default = { };
    };
    system.build = mkOption {
      type = types.lazyAttrsOf types.unspecified;
      default = { };
    };
    systemd.services = mkOption {
      type = types.attrsOf types.anything;
      default = { };
    };
    systemd.sysusers.enable = mkOption {
      type = types.bool;
      default = false;
    };
    services.userborn.enable = mkOption {
      type = types.bool;
      default = false;
    };
    users.users = mkOption {
      type = types.attrsOf (
        types.submodule (
          { name, ... }:
          {
            freeformType = types.attrsOf types.anything;
            options = {
              name = mkOption {
                type = types.str;
                default = name;
              };
              uid = mkOption {
                type = types.nullOr types.int;
                default = null;
              };
              group = mkOption {
                type = types.str;
                default = "";
              };
            };
          }
        )
      );
      default = { };
    };
    users.groups = mkOption {
      type = types.attrsOf (
        types.submodule {
          options.gid = mkOption {
            type = types.nullOr types.int;
            default = null;
          };
        }
      );
      default = { };
    };
    services.openssh.enable = mkOption {
      type = types.bool;
      default = false;
    };
    services.openssh.hostKeys = anything [ ];
  };
}
