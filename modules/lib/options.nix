# The `sops.*` options that keyward's NixOS module (../nixos) and home-manager module
# (../home-manager) both declare, each declared once here so that their names, types and
# defaults cannot drift apart. Each module imports this with its `userMode` (false: NixOS,
# true: home-manager, the same switch as ./plan.nix's) and declares next to it the options only
# it has, including its own fields of `sops.secrets.<name>` and `sops.templates.<name>`; the
# module system merges the two (and fails on an option declared twice).
#
# Where the modules differ on purpose, the option says so here with `pick`, both values side
# by side: the paths (/run/secrets by the secret's `name` in NixOS, the user's link directory by
# the attribute name in home-manager, as in sops-nix), the types kept from sops-nix's two
# modules, defaults only NixOS has (defaultSopsKey), and the descriptions, which speak of each
# module's own paths, units and activation.
#
# This file needs nixpkgs' lib (option types); ./plan.nix stays builtins-only.
{ userMode }:
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types literalExpression;
  cfg = config.sops;
  planLib = import ./plan.nix;

  pick = { nixos, home }: if userMode then home else nixos;
  # Attributes only the NixOS module's declaration has (an example, a defaultText).
  nixosOnly = lib.optionalAttrs (!userMode);

  # `mode` and `restartUnits` of a secret (kind "secret") or a rendered template ("template").
  fileOptions = kind: {
    mode = mkOption {
      # sops-nix's home-manager module declares a secret's mode as a plain str.
      type = if userMode && kind == "secret" then types.str else types.singleLineStr;
      default = "0400";
      description =
        (pick {
          nixos = {
            secret = "Permissions of the secret file, in octal.";
            template = "Permissions of the rendered file, in octal.";
          };
          home = {
            secret = "Permissions of the file, in octal.";
            template = "Permissions of the rendered file, in octal.";
          };
        }).${kind};
    };
    restartUnits = mkOption (
      {
        type = types.listOf types.str;
        default = [ ];
        description =
          (pick {
            nixos = {
              secret = "Units restarted when the secret file's content changes (not at boot). Each needs a unit suffix.";
              template = "Units restarted when the rendered file's content changes (not at boot). Each needs a unit suffix.";
            };
            home = {
              secret = "keyward: user units restarted (systemctl --user) when the secret changes.";
              template = "keyward: user units restarted when the rendered file changes.";
            };
          }).${kind};
      }
      // lib.optionalAttrs (!userMode || kind == "secret") {
        example = [ (pick { nixos = "sshd.service"; home = "app.service"; }) ];
      }
    );
  };

  secretOptions =
    { config, name, ... }:
    {
      options = fileOptions "secret" // {
        name = mkOption {
          type = types.str;
          default = name;
          description = pick {
            nixos = "Name of the file under /run/secrets; may contain `/` (subdirectories).";
            home = "Name of the file under the secrets directory.";
          };
        };
        key = mkOption (
          {
            type = types.str;
            default = pick {
              nixos = if cfg.defaultSopsKey != null then cfg.defaultSopsKey else name;
              home = name;
            };
            description = pick {
              nixos = ''
                Key of the secret in the sops file; `/` separates nested keys. `""` is the whole
                file. Ignored for the binary format.
              '';
              home = "Key of the secret in the sops file; use / as a separator. `\"\"` = whole file.";
            };
          }
          // nixosOnly {
            defaultText = literalExpression "config.sops.defaultSopsKey, else the attribute name";
          }
        );
        path = mkOption {
          type = types.str;
          # By the secret's `name` in NixOS; sops-nix's home-manager default uses the attribute name.
          default = pick {
            nixos = planLib.secretPath { inherit (config) name neededForUsers; };
            home = "${cfg.defaultSymlinkPath}/${name}";
          };
          defaultText = pick {
            nixos = literalExpression ''
              if neededForUsers then "/run/secrets-for-users/''${name}" else "/run/secrets/''${name}"'';
            home = literalExpression ''"''${config.sops.defaultSymlinkPath}/''${name}"'';
          };
          description = pick {
            nixos = "Where the secret is available. If changed, a symlink to the secret is created there.";
            home = "Where the secret is available; `%r` is $XDG_RUNTIME_DIR. If changed, a symlink is created.";
          };
        };
        format = mkOption {
          type = types.enum [
            "yaml"
            "json"
            "binary"
            "dotenv"
            "ini"
          ];
          default = cfg.defaultSopsFormat;
          defaultText = literalExpression "config.sops.defaultSopsFormat";
          description = "Format of the sops file.";
        };
        sopsFile = mkOption {
          type = pick {
            nixos = types.path;
            home = types.either types.str types.path;
          };
          default = cfg.defaultSopsFile;
          defaultText = literalExpression "config.sops.defaultSopsFile";
          description = "The sops file the secret is read from.";
        };
      };
    };

  templateOptions =
    { config, name, ... }:
    {
      options = fileOptions "template" // {
        name = mkOption {
          type = types.singleLineStr;
          default = name;
          description = pick {
            nixos = "Name of the file under /run/secrets/rendered.";
            home = "Name of the rendered file.";
          };
        };
        path = mkOption {
          type = types.singleLineStr;
          default = pick {
            nixos = planLib.templatePath { inherit (config) name; };
            home = "${cfg.defaultSymlinkPath}/rendered/${name}";
          };
          defaultText = pick {
            nixos = literalExpression ''"/run/secrets/rendered/''${name}"'';
            home = literalExpression ''"''${config.sops.defaultSymlinkPath}/rendered/''${name}"'';
          };
          description = pick {
            nixos = "Where the rendered file is available; if changed, a symlink is created there.";
            home = "Where the rendered file is available.";
          };
        };
        content = mkOption {
          type = types.lines;
          default = "";
          description = pick {
            nixos = "Content of the template, with `config.sops.placeholder.<secret>` where a secret goes.";
            home = "Template content with `config.sops.placeholder.<secret>`.";
          };
        };
        file = mkOption {
          type = types.path;
          default = pkgs.writeText config.name config.content;
          defaultText = literalExpression "pkgs.writeText name content";
          description = "A template file; a non-empty `content` wins over it.";
        };
      };
    };
in
{
  _file = ./options.nix;

  options.sops = {
    secrets = mkOption {
      type = types.attrsOf (types.submodule secretOptions);
      default = { };
      description = pick {
        nixos = "Secrets to install, by name.";
        home = "Secrets to install for this user.";
      };
    };
    templates = mkOption {
      type = types.attrsOf (types.submodule templateOptions);
      default = { };
      description = pick {
        nixos = "Files rendered from secrets: placeholders replaced by the secrets' values.";
        home = "Files rendered from secrets.";
      };
    };
    placeholder = mkOption {
      type = types.attrsOf (pick {
        nixos = types.mkOptionType {
          name = "coercibleToString";
          description = "value that can be coerced to string";
          check = lib.strings.isConvertibleWithToString;
          merge = lib.mergeEqualOption;
        };
        home = types.str;
      });
      default = { };
      visible = false;
      description = "The placeholder string of each secret, for templates.";
    };
    defaultSopsFile = mkOption {
      type = pick {
        nixos = types.path;
        home = types.either types.str types.path;
      };
      description = "Default sops file of every secret.";
    };
    defaultSopsFormat = mkOption {
      type = types.str;
      default = "yaml";
      description = pick {
        nixos = "Default format of every secret's sops file.";
        home = "Default format of the sops files.";
      };
    };
    validateSopsFiles = mkOption {
      type = types.bool;
      default = true;
      description = pick {
        nixos = ''
          Check the sops files at build time (they must be in the Nix store): every file parses and
          holds every key. Also gates the owner/uid checks and sopsFileHash, as in sops-nix.
        '';
        home = "Check the sops files at build time.";
      };
    };
    keepGenerations = mkOption {
      type = types.ints.unsigned;
      default = 1;
      description = pick {
        nixos = "Generations of /run/secrets.d/N to keep; 0 keeps all.";
        home = "Generations to keep; 0 keeps all.";
      };
    };
    log = mkOption {
      type = types.listOf (
        types.enum [
          "keyImport"
          "secretChanges"
        ]
      );
      default = [
        "keyImport"
        "secretChanges"
      ];
      description = "What keyward logs.";
    };
    environment = mkOption {
      type = types.attrsOf (types.either types.str types.path);
      default = { };
      description = pick {
        nixos = ''
          Environment variables for keyward, e.g. SOPS_AGE_KEY_CMD. Values are single-quoted
          without escaping in the activation script (as in sops-nix), so shell expansions written
          into them run; with neededForUsers they are evaluated twice, each in a subshell.
        '';
        home = "Environment variables for keyward.";
      };
    };
    package = mkOption {
      type = types.package;
      default = pkgs.keyward or (pkgs.callPackage ../../package.nix { });
      defaultText = pick {
        nixos = literalExpression "pkgs.keyward or (pkgs.callPackage keyward/package.nix { })";
        home = literalExpression "pkgs.keyward";
      };
      description = pick {
        nixos = "The keyward package used at activation.";
        home = "The keyward package.";
      };
    };

    # age.sshKeyPaths is each module's own: its type and default differ.
    age = {
      keyFile = mkOption (
        {
          type = types.nullOr (types.either types.str types.path);
          default = null;
          description = pick {
            nixos = "An age identity file (never in the Nix store).";
            home = "An age identity file.";
          };
        }
        // nixosOnly {
          example = "/var/lib/sops-nix/key.txt";
        }
      );
      generateKey = mkOption {
        type = types.bool;
        default = false;
        description = pick {
          nixos = "Generate age.keyFile with age-keygen if it does not exist.";
          home = "Generate age.keyFile if it does not exist.";
        };
      };
      plugins = mkOption {
        type = types.listOf types.package;
        default = [ ];
        # NixOS adds their bin/ to the unit's and the activation's PATH; home-manager's service
        # sets PATH to them.
        description = pick {
          nixos = "age plugins; their bin/ is added to keyward's PATH.";
          home = "age plugins on keyward's PATH.";
        };
      };
    };

    # keyward is age-only. gnupg.* exist so a sops-nix configuration fails with a clear message
    # rather than an unknown-option error. gnupg.sshKeyPaths is each module's own (its default
    # differs).
    gnupg.home = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = pick {
        nixos = "sops-nix's GnuPG home. keyward is age-only: setting it fails with a message.";
        home = "sops-nix's GnuPG home; keyward is age-only, setting it fails.";
      };
    };
  };
}
