# keyward's NixOS module: sops-nix's `sops.*` options, unchanged in name, type, default and
# meaning, plus keyward's own. A plain NixOS module (no flake `self`): the flake's
# nixosModules.default only sets `sops.package` to the flake's own build.
#
# The module is glue. Defaults, the plans, the for-users split, the checks behind the
# assertions and the activation snippets all come from ../lib/plan.nix, which CI tests
# without nixpkgs. What stays here is what needs nixpkgs: option types, pkgs, systemd units.
{
  config,
  options,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    mkOption
    mkIf
    mkMerge
    mkDefault
    types
    literalExpression
    ;
  cfg = config.sops;
  planLib = import ../lib/plan.nix;

  # sysusers and userborn create users from a unit, so secrets must come from units too.
  sysusersOrUserborn =
    (options.systemd ? sysusers && config.systemd.sysusers.enable)
    || (options.services ? userborn && config.services.userborn.enable);
  # sops-nix keys the for-users unit on sysusers/userborn only (its quirk 11); keyward also
  # honours a forced useSystemdActivation, which is what late-mounted keys need (#149).
  forUsersViaSystemd = cfg.useSystemdActivation || sysusersOrUserborn;

  hostKeysOf =
    type:
    if config.services.openssh.enable then
      map (k: k.path) (
        builtins.filter (k: k.type == type && !lib.hasPrefix "/run/secrets" k.path) (
          config.services.openssh.hostKeys or [ ]
        )
      )
    else
      [ ];

  users = lib.mapAttrs (_: u: {
    uid = u.uid or null;
    group = u.group or null;
  }) config.users.users;
  groups = lib.mapAttrs (_: g: { gid = g.gid or null; }) (config.users.groups or { });

  planArgs = {
    inherit cfg users groups;
    derivedGnupgSshKeyPaths = hostKeysOf "rsa";
  };
  plans = planLib.mkPlans planArgs;

  keyward = "${cfg.package}/bin/keyward";

  writePlan =
    suffix: plan:
    pkgs.writeTextFile {
      name = "keyward-plan${suffix}.json";
      text = builtins.toJSON plan;
      # The same check as sops-nix's -check-mode: the plan is valid, and with
      # validateSopsFiles every sops file parses and holds every key (ciphertext only).
      checkPhase = ''
        ${cfg.validationPackage}/bin/keyward check ${lib.optionalString cfg.validateSopsFiles "--sops-files"} "$out"
      '';
    };
  planFile = writePlan "" plans.plan;
  planForUsersFile = writePlan "-for-users" plans.planForUsers;

  pluginPath = lib.makeBinPath cfg.age.plugins;
  keyPaths = lib.filter (p: p != null) ([ cfg.age.keyFile ] ++ cfg.age.sshKeyPaths);

  snippet =
    plan: message:
    planLib.activationSnippet {
      inherit keyward plan message;
      inherit (cfg) environment;
      inherit pluginPath;
    };

  unitFor = plan: {
    unitConfig = {
      DefaultDependencies = "no";
      RequiresMountsFor = map toString keyPaths;
    };
    environment = cfg.environment // {
      # Restarts and reloads go through systemctl (--no-block), not the activation lists that
      # NixOS 26.05 deprecates; the variable name is sops-nix's.
      SOPS_RESTART_UNITS_VIA_SYSTEMCTL = "1";
      HOME = "/var/empty";
    };
    path = cfg.age.plugins;
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      ExecStart = "${keyward} install ${plan}";
    };
  };

  ownerOptions = what: {
    mode = mkOption {
      type = types.singleLineStr;
      default = "0400";
      description = "Permissions of the ${what}, in octal.";
    };
    owner = mkOption {
      type = types.nullOr types.singleLineStr;
      default = null;
      description = "User owning the ${what}. Can only be set if uid is 0.";
    };
    uid = mkOption {
      type = types.nullOr types.int;
      default = 0;
      description = "UID owning the ${what}, used only when owner is null; applied even if no such user exists.";
    };
    gid = mkOption {
      type = types.nullOr types.int;
      default = 0;
      description = "GID of the ${what}, used only when group is null; applied even if no such group exists.";
    };
    restartUnits = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "sshd.service" ];
      description = "Units restarted when the ${what}'s content changes (not at boot). Each needs a unit suffix.";
    };
    reloadUnits = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "sshd.service" ];
      description = "Units reloaded when the ${what}'s content changes (not at boot). Each needs a unit suffix.";
    };
  };

  groupOption =
    what: owner:
    mkOption {
      type = types.nullOr types.singleLineStr;
      default = if owner != null then (config.users.users.${owner} or { }).group or null else null;
      defaultText = literalExpression "config.users.users.\${owner}.group, if owner is set";
      description = "Group of the ${what}. Can only be set if gid is 0.";
    };

  secretType = types.submodule (
    { config, name, ... }:
    {
      options = ownerOptions "secret file" // {
        name = mkOption {
          type = types.str;
          default = name;
          description = "Name of the file under /run/secrets; may contain `/` (subdirectories).";
        };
        key = mkOption {
          type = types.str;
          default = if cfg.defaultSopsKey != null then cfg.defaultSopsKey else name;
          defaultText = literalExpression "config.sops.defaultSopsKey, else the attribute name";
          description = ''
            Key of the secret in the sops file; `/` separates nested keys. `""` is the whole
            file. Ignored for the binary format.
          '';
        };
        path = mkOption {
          type = types.str;
          default = planLib.secretPath { inherit (config) name neededForUsers; };
          defaultText = literalExpression ''
            if neededForUsers then "/run/secrets-for-users/''${name}" else "/run/secrets/''${name}"'';
          description = "Where the secret is available. If changed, a symlink to the secret is created there.";
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
        group = groupOption "secret file" config.owner;
        sopsFile = mkOption {
          type = types.path;
          defaultText = literalExpression "config.sops.defaultSopsFile";
          default = cfg.defaultSopsFile;
          description = "The sops file the secret is read from.";
        };
        sopsFileHash = mkOption {
          type = types.str;
          readOnly = true;
          # The hash of the ciphertext, never of a secret (sops-nix computes the same).
          default = lib.optionalString cfg.validateSopsFiles (builtins.hashFile "sha256" config.sopsFile);
          defaultText = literalExpression "builtins.hashFile \"sha256\" sopsFile, if validateSopsFiles";
          description = "Hash of the (encrypted) sops file, for restartTriggers. Empty unless validateSopsFiles.";
        };
        neededForUsers = mkOption {
          type = types.bool;
          default = false;
          description = ''
            Install the secret to /run/secrets-for-users before users are created, for
            `users.users.<name>.hashedPasswordFile`. Owners must have a fixed uid (or be root).
          '';
        };
      };
    }
  );

  templateType = types.submodule (
    { config, name, ... }:
    {
      options = ownerOptions "rendered file" // {
        name = mkOption {
          type = types.singleLineStr;
          default = name;
          description = "Name of the file under /run/secrets/rendered.";
        };
        path = mkOption {
          type = types.singleLineStr;
          default = planLib.templatePath { inherit (config) name; };
          defaultText = literalExpression ''"/run/secrets/rendered/''${name}"'';
          description = "Where the rendered file is available; if changed, a symlink is created there.";
        };
        content = mkOption {
          type = types.lines;
          default = "";
          description = "Content of the template, with `config.sops.placeholder.<secret>` where a secret goes.";
        };
        group = groupOption "rendered file" config.owner;
        file = mkOption {
          type = types.path;
          default = pkgs.writeText config.name config.content;
          defaultText = literalExpression "pkgs.writeText name content";
          description = "A template file; a non-empty `content` wins over it.";
        };
      };
    }
  );
in
{
  imports = [
    (lib.mkRenamedOptionModule [ "sops" "gnupgHome" ] [ "sops" "gnupg" "home" ])
    (lib.mkRenamedOptionModule [ "sops" "sshKeyPaths" ] [ "sops" "gnupg" "sshKeyPaths" ])
  ];

  options.sops = {
    secrets = mkOption {
      type = types.attrsOf secretType;
      default = { };
      description = "Secrets to install, by name.";
    };
    templates = mkOption {
      type = types.attrsOf templateType;
      default = { };
      description = "Files rendered from secrets: placeholders replaced by the secrets' values.";
    };
    placeholder = mkOption {
      type = types.attrsOf (
        types.mkOptionType {
          name = "coercibleToString";
          description = "value that can be coerced to string";
          check = lib.strings.isConvertibleWithToString;
          merge = lib.mergeEqualOption;
        }
      );
      default = { };
      visible = false;
      description = "The placeholder string of each secret, for templates.";
    };
    defaultSopsFile = mkOption {
      type = types.path;
      description = "Default sops file of every secret.";
    };
    defaultSopsFormat = mkOption {
      type = types.str;
      default = "yaml";
      description = "Default format of every secret's sops file.";
    };
    defaultSopsKey = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Default key of every secret (`\"\"` = the whole file); null: the secret's name.";
    };
    validateSopsFiles = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Check the sops files at build time (they must be in the Nix store): every file parses and
        holds every key. Also gates the owner/uid checks and sopsFileHash, as in sops-nix.
      '';
    };
    keepGenerations = mkOption {
      type = types.ints.unsigned;
      default = 1;
      description = "Generations of /run/secrets.d/N to keep; 0 keeps all.";
    };
    useTmpfs = mkOption {
      type = types.bool;
      default = false;
      description = "tmpfs (noswap where the kernel has it) instead of ramfs. On kernels before 6.4 secrets may reach swap.";
    };
    useSystemdActivation = mkOption {
      type = types.bool;
      default = sysusersOrUserborn;
      defaultText = literalExpression "systemd.sysusers.enable || services.userborn.enable";
      description = ''
        Install secrets from sops-install-secrets.service (and the for-users ones from
        sops-install-secrets-for-users.service) instead of activation scripts. On with sysusers
        or userborn; force it for keys on late-mounted file systems (it adds RequiresMountsFor).
      '';
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
      description = ''
        Environment variables for keyward, e.g. SOPS_AGE_KEY_CMD. Values are single-quoted
        without escaping in the activation script (as in sops-nix), so shell expansions written
        into them run; with neededForUsers they are evaluated twice, each in a subshell.
      '';
    };
    package = mkOption {
      type = types.package;
      default = pkgs.keyward or (pkgs.callPackage ../../package.nix { });
      defaultText = literalExpression "pkgs.keyward or (pkgs.callPackage keyward/package.nix { })";
      description = "The keyward package used at activation.";
    };
    validationPackage = mkOption {
      type = types.package;
      default =
        if pkgs.stdenv.buildPlatform == pkgs.stdenv.hostPlatform then
          cfg.package
        else
          pkgs.pkgsBuildHost.keyward or (pkgs.pkgsBuildHost.callPackage ../../package.nix { });
      defaultText = literalExpression "config.sops.package, built for the build platform";
      description = "The keyward package that checks the plans at build time (cross-compilation).";
    };

    age = {
      keyFile = mkOption {
        type = types.nullOr (types.either types.str types.path);
        default = null;
        example = "/var/lib/sops-nix/key.txt";
        description = "An age identity file (never in the Nix store).";
      };
      sshKeyPaths = mkOption {
        type = types.listOf types.path;
        default = hostKeysOf "ed25519";
        defaultText = literalExpression "the ed25519 services.openssh.hostKeys not under /run/secrets";
        description = "OpenSSH ed25519 keys used as age identities (ssh-to-age).";
      };
      generateKey = mkOption {
        type = types.bool;
        default = false;
        description = "Generate age.keyFile with age-keygen if it does not exist.";
      };
      plugins = mkOption {
        type = types.listOf types.package;
        default = [ ];
        description = "age plugins; their bin/ is added to keyward's PATH.";
      };
    };

    # keyward is age-only. These exist so a sops-nix configuration fails with a clear message
    # rather than an unknown-option error; the RSA default is dropped silently.
    gnupg = {
      home = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "sops-nix's GnuPG home. keyward is age-only: setting it fails with a message.";
      };
      sshKeyPaths = mkOption {
        type = types.listOf types.path;
        default = hostKeysOf "rsa";
        defaultText = literalExpression "the rsa services.openssh.hostKeys (ignored by keyward)";
        description = "sops-nix's RSA keys for GnuPG. Ignored at its default; any other value fails: keyward is age-only.";
      };
    };

    failurePolicy = mkOption {
      type = types.enum [
        "all-or-nothing"
        "partial"
      ];
      default = "all-or-nothing";
      description = ''
        keyward: what happens when a secret cannot be installed. `all-or-nothing` (sops-nix's
        behaviour) keeps the old generation; `partial` installs what decrypts, reports the rest
        and still fails the run.
      '';
    };
    pathDirectories = {
      owner = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "keyward: owner of directories created for `path` links (null: root).";
      };
      uid = mkOption {
        type = types.nullOr types.int;
        default = null;
        description = "keyward: numeric owner of those directories, when owner is null.";
      };
      group = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "keyward: group of directories created for `path` links (null: root).";
      };
      gid = mkOption {
        type = types.nullOr types.int;
        default = null;
        description = "keyward: numeric group of those directories, when group is null.";
      };
      mode = mkOption {
        type = types.str;
        default = "0755";
        description = "keyward: mode of directories created for `path` links (umask-independent).";
      };
    };
    metrics = {
      directory = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/var/lib/prometheus-node-exporter/textfile";
        description = "keyward: node-exporter textfile directory for metrics; null writes none.";
      };
      fileName = mkOption {
        type = types.str;
        default = "keyward.prom";
        description = "keyward: the metrics file in that directory (replaced atomically).";
      };
      secretNames = mkOption {
        type = types.bool;
        default = false;
        description = "keyward: label per-secret metrics with secret names.";
      };
    };
    audit.enable = mkOption {
      type = types.bool;
      default = true;
      description = "keyward: emit audit events (journald when available, else stderr).";
    };
    lockTimeoutSeconds = mkOption {
      type = types.ints.unsigned;
      default = 60;
      description = "keyward: seconds to wait for another run's lock.";
    };
  };

  config = mkMerge [
    {
      # Always defined, so other modules and tools can refer to them; built only when used.
      system.build.keyward-plan = planFile;
      system.build.keyward-plan-for-users = planForUsersFile;
    }
    (mkIf (cfg.templates != { }) {
      sops.placeholder = lib.mapAttrs (n: _: mkDefault (planLib.placeholderFor n)) cfg.secrets;
    })
    (mkIf (cfg.secrets != { } || cfg.templates != { }) {
      assertions = map (c: { inherit (c) assertion message; }) (planLib.checks planArgs);

      # sops-nix's names, for tooling that reads them.
      system.build.sops-nix-manifest = planFile;
      system.build.sops-nix-users-manifest = planForUsersFile;

      warnings = lib.optional (forUsersViaSystemd && !sysusersOrUserborn && plans.hasForUsers) ''
        sops.useSystemdActivation is on while users are created by the activation script: the
        neededForUsers secrets come from a unit, after users are created. On the first boot
        users.users.*.hashedPasswordFile will not exist yet; enable systemd.sysusers or
        services.userborn, or keep the key where the activation script can read it.
      '';

      system.activationScripts = mkMerge [
        (mkIf (cfg.age.generateKey && cfg.age.keyFile != null) {
          generate-age-key = lib.stringAfter [ "specialfs" ] (
            planLib.generateKeySnippet {
              ageKeygen = "${pkgs.age}/bin/age-keygen";
              keyFile = toString cfg.age.keyFile;
            }
          );
        })
        (mkIf (plans.hasRegular && !cfg.useSystemdActivation) {
          setupSecrets = lib.stringAfter (
            [
              "specialfs"
              "users"
              "groups"
            ]
            ++ lib.optional cfg.age.generateKey "generate-age-key"
          ) (snippet planFile "setting up secrets...") // {
            # dry-activate: keyward reads NIXOS_ACTION and only reports what would change.
            supportsDryActivation = true;
          };
        })
        (mkIf (plans.hasForUsers && !forUsersViaSystemd) {
          setupSecretsForUsers = lib.stringAfter (
            [ "specialfs" ] ++ lib.optional cfg.age.generateKey "generate-age-key"
          ) (snippet planForUsersFile "setting up secrets for users...") // {
            supportsDryActivation = true;
          };
          # Before users are created: hashedPasswordFile must exist by then.
          users.deps = [ "setupSecretsForUsers" ];
        })
      ];

      systemd.services = mkMerge [
        (mkIf (plans.hasRegular && cfg.useSystemdActivation) {
          # sops-nix's unit name, so other modules' `after = [ "sops-install-secrets.service" ]`
          # keep working.
          sops-install-secrets = lib.recursiveUpdate (unitFor planFile) {
            wantedBy = [ "sysinit.target" ];
            after = [
              "local-fs.target"
              "systemd-sysusers.service"
              "userborn.service"
            ];
            # switch-to-configuration restarts sysinit-reactivation.target: this re-runs us,
            # and a failed install fails the switch visibly.
            requiredBy = [ "sysinit-reactivation.target" ];
            before = [ "sysinit-reactivation.target" ];
          };
        })
        (mkIf (plans.hasForUsers && forUsersViaSystemd) {
          sops-install-secrets-for-users = lib.recursiveUpdate (unitFor planForUsersFile) {
            wantedBy = [
              "sysinit.target"
              "systemd-sysusers.service"
            ];
            after = [ "local-fs.target" ];
            before = [
              "systemd-sysusers.service"
              "userborn.service"
              "sops-install-secrets.service"
            ];
          };
        })
      ];
    })
  ];
}
