# keyward's NixOS module: sops-nix's `sops.*` options, unchanged in name, type, default and
# meaning, plus keyward's own. A plain NixOS module (no flake `self`): the flake's
# nixosModules.default only sets `sops.package` to the flake's own build.
#
# The module is glue. Defaults, the plans, the for-users split, the checks behind the
# assertions and the activation snippets all come from ../lib/plan.nix, which CI tests
# without nixpkgs. What stays here is what needs nixpkgs: option types, pkgs, systemd units.
# The options it shares with the home-manager module are declared in ../lib/options.nix.
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

  # What only NixOS secrets and templates have: owners, reloads (mode and restartUnits are in
  # ../lib/options.nix).
  ownerOptions = what: {
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

  # The NixOS-only fields of sops.secrets.<name>, merged with the shared ones.
  secretOptions =
    { config, ... }:
    {
      options = ownerOptions "secret file" // {
        group = groupOption "secret file" config.owner;
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
    };

  # The NixOS-only fields of sops.templates.<name>.
  templateOptions =
    { config, ... }:
    {
      options = ownerOptions "rendered file" // {
        group = groupOption "rendered file" config.owner;
      };
    };
in
{
  imports = [
    # The options the home-manager module has too.
    (import ../lib/options.nix { userMode = false; })
    (lib.mkRenamedOptionModule [ "sops" "gnupgHome" ] [ "sops" "gnupg" "home" ])
    (lib.mkRenamedOptionModule [ "sops" "sshKeyPaths" ] [ "sops" "gnupg" "sshKeyPaths" ])
  ];

  options.sops = {
    # Merged with the shared fields (../lib/options.nix).
    secrets = mkOption { type = types.attrsOf (types.submodule secretOptions); };
    templates = mkOption { type = types.attrsOf (types.submodule templateOptions); };
    defaultSopsKey = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Default key of every secret (`\"\"` = the whole file); null: the secret's name.";
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

    age.sshKeyPaths = mkOption {
      type = types.listOf types.path;
      default = hostKeysOf "ed25519";
      defaultText = literalExpression "the ed25519 services.openssh.hostKeys not under /run/secrets";
      description = "OpenSSH ed25519 keys used as age identities (ssh-to-age).";
    };

    # keyward is age-only; the RSA default is dropped silently.
    gnupg.sshKeyPaths = mkOption {
      type = types.listOf types.path;
      default = hostKeysOf "rsa";
      defaultText = literalExpression "the rsa services.openssh.hostKeys (ignored by keyward)";
      description = "sops-nix's RSA keys for GnuPG. Ignored at its default; any other value fails: keyward is age-only.";
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
