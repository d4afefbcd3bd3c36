# keyward's home-manager module: sops-nix's home-manager options, one user-mode plan, and the
# `sops-nix` user service (sops-nix's name, so `After = [ "sops-nix.service" ]` keeps working).
# The plan comes from ../lib/plan.nix like the NixOS one; `%r` in paths is $XDG_RUNTIME_DIR.
# The options it shares with the NixOS module are declared in ../lib/options.nix.
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
in
{
  # The options the NixOS module has too.
  imports = [ (import ../lib/options.nix { userMode = true; }) ];

  options.sops = {
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
    age.sshKeyPaths = mkOption {
      type = types.listOf (types.either types.str types.path);
      default = [ ];
      description = "OpenSSH ed25519 keys used as age identities.";
    };
    keywardPlan = mkOption {
      type = types.package;
      readOnly = true;
      internal = true;
      default = planFile;
      description = "keyward: the user's plan file (what the service installs), for inspection and tests.";
    };
    gnupg = {
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
