# keyward's home-manager module: sops-nix's home-manager options, one user-mode plan, and the
# `sops-nix` user service (sops-nix's name, so `After = [ "sops-nix.service" ]` keeps working).
# The plan comes from ../lib/plan.nix like the NixOS one; `%r` in paths is $XDG_RUNTIME_DIR.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption mkIf types literalExpression;
  cfg = config.sops;
  planLib = import ../lib/plan.nix;

  plans = planLib.mkPlans {
    inherit cfg;
    userMode = true;
    secretsMountPoint = cfg.defaultSecretsMountPoint;
    symlinkPath = cfg.defaultSymlinkPath;
  };
  planFile = pkgs.writeTextFile {
    name = "keyward-plan.json";
    text = builtins.toJSON plans.plan;
    checkPhase = ''
      ${cfg.package}/bin/keyward check ${lib.optionalString cfg.validateSopsFiles "--sops-files"} "$out"
    '';
  };

  script = pkgs.writeShellScript "keyward-user" (
    lib.optionalString (cfg.age.generateKey && cfg.age.keyFile != null) (
      planLib.generateKeySnippet {
        ageKeygen = "${pkgs.age}/bin/age-keygen";
        keyFile = toString cfg.age.keyFile;
      }
    )
    + ''
      exec ${cfg.package}/bin/keyward install ${planFile}
    ''
  );

  secretType = types.submodule (
    { config, name, ... }:
    {
      options = {
        name = mkOption {
          type = types.str;
          default = name;
          description = "Name of the file under the secrets directory.";
        };
        key = mkOption {
          type = types.str;
          default = name;
          description = "Key of the secret in the sops file; use / as a separator. `\"\"` = whole file.";
        };
        path = mkOption {
          type = types.str;
          # sops-nix's home-manager default uses the attribute name.
          default = "${cfg.defaultSymlinkPath}/${name}";
          defaultText = literalExpression ''"''${config.sops.defaultSymlinkPath}/''${name}"'';
          description = "Where the secret is available; `%r` is $XDG_RUNTIME_DIR. If changed, a symlink is created.";
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
        mode = mkOption {
          type = types.str;
          default = "0400";
          description = "Permissions of the file, in octal.";
        };
        sopsFile = mkOption {
          type = types.either types.str types.path;
          default = cfg.defaultSopsFile;
          defaultText = literalExpression "config.sops.defaultSopsFile";
          description = "The sops file the secret is read from.";
        };
        restartUnits = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "app.service" ];
          description = "keyward: user units restarted (systemctl --user) when the secret changes.";
        };
      };
    }
  );

  templateType = types.submodule (
    { config, name, ... }:
    {
      options = {
        name = mkOption {
          type = types.singleLineStr;
          default = name;
          description = "Name of the rendered file.";
        };
        path = mkOption {
          type = types.singleLineStr;
          default = "${cfg.defaultSymlinkPath}/rendered/${name}";
          defaultText = literalExpression ''"''${config.sops.defaultSymlinkPath}/rendered/''${name}"'';
          description = "Where the rendered file is available.";
        };
        content = mkOption {
          type = types.lines;
          default = "";
          description = "Template content with `config.sops.placeholder.<secret>`.";
        };
        mode = mkOption {
          type = types.singleLineStr;
          default = "0400";
          description = "Permissions of the rendered file, in octal.";
        };
        file = mkOption {
          type = types.path;
          default = pkgs.writeText config.name config.content;
          defaultText = literalExpression "pkgs.writeText name content";
          description = "A template file; a non-empty `content` wins over it.";
        };
        restartUnits = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "keyward: user units restarted when the rendered file changes.";
        };
      };
    }
  );
in
{
  options.sops = {
    secrets = mkOption {
      type = types.attrsOf secretType;
      default = { };
      description = "Secrets to install for this user.";
    };
    templates = mkOption {
      type = types.attrsOf templateType;
      default = { };
      description = "Files rendered from secrets.";
    };
    placeholder = mkOption {
      type = types.attrsOf types.str;
      default = { };
      visible = false;
      description = "The placeholder string of each secret, for templates.";
    };
    defaultSymlinkPath = mkOption {
      type = types.str;
      default = "${config.xdg.configHome}/sops-nix/secrets";
      defaultText = literalExpression ''"''${config.xdg.configHome}/sops-nix/secrets"'';
      description = "The stable link to the current generation.";
    };
    defaultSecretsMountPoint = mkOption {
      type = types.str;
      default = "%r/secrets.d";
      description = "Where generations are written; `%r` is $XDG_RUNTIME_DIR.";
    };
    defaultSopsFile = mkOption {
      type = types.either types.str types.path;
      description = "Default sops file of every secret.";
    };
    defaultSopsFormat = mkOption {
      type = types.str;
      default = "yaml";
      description = "Default format of the sops files.";
    };
    validateSopsFiles = mkOption {
      type = types.bool;
      default = true;
      description = "Check the sops files at build time.";
    };
    keepGenerations = mkOption {
      type = types.ints.unsigned;
      default = 1;
      description = "Generations to keep; 0 keeps all.";
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
      description = "Environment variables for keyward.";
    };
    package = mkOption {
      type = types.package;
      default = pkgs.keyward or (pkgs.callPackage ../../package.nix { });
      defaultText = literalExpression "pkgs.keyward";
      description = "The keyward package.";
    };
    age = {
      keyFile = mkOption {
        type = types.nullOr (types.either types.str types.path);
        default = null;
        description = "An age identity file.";
      };
      sshKeyPaths = mkOption {
        type = types.listOf (types.either types.str types.path);
        default = [ ];
        description = "OpenSSH ed25519 keys used as age identities.";
      };
      generateKey = mkOption {
        type = types.bool;
        default = false;
        description = "Generate age.keyFile if it does not exist.";
      };
      plugins = mkOption {
        type = types.listOf types.package;
        default = [ ];
        description = "age plugins on keyward's PATH.";
      };
    };
    keywardPlan = mkOption {
      type = types.package;
      readOnly = true;
      internal = true;
      default = planFile;
      description = "keyward: the user's plan file (what the service installs), for inspection and tests.";
    };
    gnupg = {
      home = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "sops-nix's GnuPG home; keyward is age-only, setting it fails.";
      };
      sshKeyPaths = mkOption {
        type = types.listOf types.path;
        default = [ ];
        description = "sops-nix's RSA keys for GnuPG; keyward is age-only, setting it fails.";
      };
      qubes-split-gpg = {
        enable = mkOption {
          type = types.bool;
          default = false;
          description = "sops-nix's Qubes split GPG; keyward is age-only, enabling it fails.";
        };
        domain = mkOption {
          type = types.nullOr types.str;
          default = null;
          description = "Ignored (see enable).";
        };
      };
    };
  };

  config = mkIf (cfg.secrets != { } || cfg.templates != { }) {
    sops.placeholder = mkIf (cfg.templates != { }) (
      lib.mapAttrs (n: _: lib.mkDefault (planLib.placeholderFor n)) cfg.secrets
    );

    assertions = map (c: { inherit (c) assertion message; }) (
      planLib.checks {
        inherit cfg;
        userMode = true;
        symlinkPath = cfg.defaultSymlinkPath;
      }
    );

    systemd.user.services.sops-nix = {
      Unit.Description = "keyward: install this user's secrets";
      Service = {
        Type = "oneshot";
        # Restarts of the secrets' user units go through systemctl --user.
        Environment = lib.mapAttrsToList (k: v: "${k}=${toString v}") (
          cfg.environment
          // {
            SOPS_RESTART_UNITS_VIA_SYSTEMCTL = "1";
          }
          // lib.optionalAttrs (cfg.age.plugins != [ ]) { PATH = lib.makeBinPath cfg.age.plugins; }
        );
        ExecStart = "${script}";
      };
      Install.WantedBy = [ "default.target" ];
    };

    # Re-run on every activation while the user manager runs (sops-nix does the same).
    home.activation.sops-nix = lib.hm.dag.entryAfter [ "writeBoundary" ] ''
      systemdStatus=$(${pkgs.systemd}/bin/systemctl --user is-system-running 2>&1 || true)
      if [[ $systemdStatus == 'running' || $systemdStatus == 'degraded' ]]; then
        ${pkgs.systemd}/bin/systemctl restart --user sops-nix
      else
        echo "User systemd daemon not running. Probably executed on boot where no manual start/reload is needed."
      fi
      unset systemdStatus
    '';
  };
}
