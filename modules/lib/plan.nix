# The plan: what keyward installs, as one JSON document per phase — the regular secrets, and
# the `neededForUsers` secrets that must exist before users are created.
#
# This file holds all the logic between the `sops.*` option values and that JSON: defaults,
# the for-users split, numeric ids for the early phase, placeholders, the checks behind the
# modules' assertions and the activation snippet. It uses builtins only (no nixpkgs lib, no
# pkgs, nothing newer than Nix 2.8), so CI evaluates it with a bare `nix-instantiate` and
# compares it with golden plans. The NixOS and home-manager modules are thin wrappers.
#
# The plan is a superset of sops-nix's manifest: every manifest field keeps its name and
# meaning, keyward adds `version = 1` and its own fields (see docs/options.md and the Rust
# side's docs/plan.md). Nothing here reads a secret: only the ciphertext's hash, like sops-nix.
let
  b = builtins;

  # Where things live. The for-users directories are sops-nix's, so
  # `hashedPasswordFile = config.sops.secrets.x.path` keeps its value.
  defaults = {
    secretsMountPoint = "/run/secrets.d";
    symlinkPath = "/run/secrets";
    forUsersMountPoint = "/run/secrets-for-users.d";
    forUsersSymlinkPath = "/run/secrets-for-users";
    # Kept in sync with keyward's (and sops-nix's) `rendered/` directory.
    renderedSubdir = "rendered";
    mode = "0400";
    format = "yaml";
    keepGenerations = 1;
    log = [
      "keyImport"
      "secretChanges"
    ];
    failurePolicy = "all-or-nothing";
    pathDirectories = {
      owner = null;
      uid = null;
      group = null;
      gid = null;
      mode = "0755";
    };
    lockTimeoutSeconds = 60;
  };

  # sops-nix's placeholder, byte for byte, so templates written for sops-nix keep working.
  placeholderFor = name: "<SOPS:${b.hashString "sha256" name}:PLACEHOLDER>";
  placeholdersFor = names: b.listToAttrs (map (n: { name = n; value = placeholderFor n; }) names);

  secretPath =
    {
      name,
      neededForUsers ? false,
      symlinkPath ? defaults.symlinkPath,
    }:
    "${if neededForUsers then defaults.forUsersSymlinkPath else symlinkPath}/${name}";

  templatePath =
    {
      name,
      symlinkPath ? defaults.symlinkPath,
    }:
    "${symlinkPath}/${defaults.renderedSubdir}/${name}";

  # The units systemd knows; an entry without one of these suffixes is silently never restarted
  # (sops-nix issue #343), so the modules refuse it.
  unitSuffixes = [
    "service"
    "socket"
    "target"
    "timer"
    "path"
    "mount"
    "automount"
    "swap"
    "slice"
    "scope"
    "device"
  ];
  hasUnitSuffix = u: b.match "[^/ ]+\\.(${b.concatStringsSep "|" unitSuffixes})" u != null;

  hasPrefix = p: s: b.substring 0 (b.stringLength p) s == p;
  isStorePath = p: p != null && hasPrefix "${b.storeDir}/" (toString p);
  nonNull = v: d: if v == null then d else v;

  # --- option values with defaults --------------------------------------------------------
  #
  # The modules pass fully evaluated option values, where every field exists; hand-written
  # test inputs may leave fields out. Both go through the same defaults, and the modules'
  # option defaults call the same functions, so there is one definition of each default.

  secretWithDefaults =
    {
      cfg,
      users ? { },
      symlinkPath ? defaults.symlinkPath,
      userMode ? false,
    }:
    attrName: s:
    let
      name = s.name or attrName;
      neededForUsers = s.neededForUsers or false;
      owner = s.owner or null;
      defaultKey = cfg.defaultSopsKey or null;
      sopsFile =
        if s ? sopsFile then
          s.sopsFile
        else if (cfg.defaultSopsFile or null) != null then
          cfg.defaultSopsFile
        else
          throw "keyward: sops.secrets.\"${attrName}\".sopsFile is not set and sops.defaultSopsFile is null; set one of them.";
      validate = cfg.validateSopsFiles or true;
    in
    {
      inherit
        name
        neededForUsers
        owner
        sopsFile
        ;
      key = s.key or (if defaultKey != null then defaultKey else attrName);
      # home-manager's default uses the attribute name, NixOS's the `name` option (as sops-nix).
      path =
        s.path or (secretPath {
          name = if userMode then attrName else name;
          inherit neededForUsers symlinkPath;
        });
      format = s.format or (cfg.defaultSopsFormat or defaults.format);
      mode = s.mode or defaults.mode;
      uid = s.uid or 0;
      group = s.group or (if owner != null then users.${owner}.group or null else null);
      gid = s.gid or 0;
      restartUnits = s.restartUnits or [ ];
      reloadUnits = s.reloadUnits or [ ];
      # The hash of the ciphertext (never of a secret), for `restartTriggers`, as in sops-nix.
      sopsFileHash =
        s.sopsFileHash or (if validate && b.isPath sopsFile then b.hashFile "sha256" sopsFile else "");
    };

  templateWithDefaults =
    {
      users ? { },
      symlinkPath ? defaults.symlinkPath,
      ...
    }:
    attrName: t:
    let
      name = t.name or attrName;
      owner = t.owner or null;
    in
    {
      inherit name owner;
      content = t.content or "";
      # The module's default is a store file of `content`; a non-empty content wins anyway.
      file = t.file or null;
      path = t.path or (templatePath { inherit name symlinkPath; });
      mode = t.mode or defaults.mode;
      uid = t.uid or 0;
      group = t.group or (if owner != null then users.${owner}.group or null else null);
      gid = t.gid or 0;
      restartUnits = t.restartUnits or [ ];
      reloadUnits = t.reloadUnits or [ ];
    };

  # Evaluated secrets and templates, as lists in attribute-name order (sops-nix's order).
  normalise =
    args@{ cfg, ... }:
    {
      secrets = b.attrValues (b.mapAttrs (secretWithDefaults args) (cfg.secrets or { }));
      templates = b.attrValues (b.mapAttrs (templateWithDefaults args) (cfg.templates or { }));
    };

  placeholdersOf =
    cfg:
    if (cfg.placeholder or { }) != { } then
      cfg.placeholder
    else
      placeholdersFor (b.attrNames (cfg.secrets or { }));

  # The plan keys placeholders by each secret's installed `name` (what the installer looks
  # up), while `sops.placeholder` is keyed by attribute name (what templates reference); they
  # differ when a secret sets `name`.
  placeholdersByName =
    cfg:
    let
      ph = placeholdersOf cfg;
    in
    b.listToAttrs (
      b.attrValues (
        b.mapAttrs (attr: s: {
          name = s.name or attr;
          value = ph.${attr} or (placeholderFor attr);
        }) (cfg.secrets or { })
      )
    );

  # --- ids for the early phase ------------------------------------------------------------
  #
  # Secrets for users are installed before /etc/passwd exists, so their plan carries numeric
  # ids only. sops-nix silently makes such a secret root-owned when it names an owner; keyward
  # uses the uid/gid declared in `users.users`/`users.groups`, and the modules assert when
  # there is none.
  resolveUid =
    users: s:
    if s.owner == null then
      s.uid
    else if s.owner == "root" then
      0
    else
      (users.${s.owner} or { }).uid or null;
  resolveGid =
    groups: s:
    if s.group == null then
      s.gid
    else if s.group == "root" then
      0
    else
      (groups.${s.group} or { }).gid or null;

  forUsersEntry =
    { users, groups }:
    s:
    s
    // {
      owner = null;
      group = null;
      uid = nonNull (resolveUid users s) 0;
      gid = nonNull (resolveGid groups s) 0;
    };

  # --- the plan ---------------------------------------------------------------------------

  # The top-level fields every plan shares. `sshKeyPaths`/`gnupgHome` are sops-nix's GnuPG
  # inputs: keyward is age-only, the modules refuse a GnuPG setting, so they are always empty.
  common =
    {
      cfg,
      userMode,
    }:
    let
      age = cfg.age or { };
      log = cfg.log or defaults.log;
      metrics = cfg.metrics or { };
    in
    {
      version = 1;
      keepGenerations = cfg.keepGenerations or defaults.keepGenerations;
      sshKeyPaths = [ ];
      gnupgHome = null;
      # toString: a Nix path here must not be copied to the store (it is a private key).
      ageKeyFile = if (age.keyFile or null) == null then null else toString age.keyFile;
      ageSshKeyPaths = map toString (age.sshKeyPaths or [ ]);
      useTmpfs = cfg.useTmpfs or false;
      inherit userMode;
      logging = {
        keyImport = b.elem "keyImport" log;
        secretChanges = b.elem "secretChanges" log;
      };
      failurePolicy = cfg.failurePolicy or defaults.failurePolicy;
      pathDirectories = defaults.pathDirectories // (cfg.pathDirectories or { });
      metrics =
        if (metrics.directory or null) == null then
          null
        else
          {
            inherit (metrics) directory;
            fileName = metrics.fileName or "keyward.prom";
            secretNames = metrics.secretNames or false;
          };
      audit.enable = (cfg.audit or { }).enable or true;
      lockTimeoutSeconds = cfg.lockTimeoutSeconds or defaults.lockTimeoutSeconds;
    };

  # Paths in the plan: the modules leave Nix paths as they are (toJSON copies them to the store,
  # which puts the sops files in the system closure, as sops-nix does). The demo plan renders
  # them relative to the repository instead (see hosts/example/README.md).
  renderPaths =
    renderPath: entries:
    if renderPath == null then
      entries
    else
      map (
        e:
        e
        // (if e ? sopsFile then { sopsFile = renderPath e.sopsFile; } else { })
        // (if (e.file or null) != null then { file = renderPath e.file; } else { })
      ) entries;

  /*
    mkPlans: the plans of one system (or one home-manager user).

    cfg         the evaluated `sops` option values (fields may be left out: see normalise)
    users       name -> { uid, group } (users.users), for owner groups and for-users ids
    groups      name -> { gid } (users.groups), for for-users ids
    userMode    home-manager: one plan, no mount, no chown, `%r` paths
    secretsMountPoint, symlinkPath   overrides (home-manager's defaults)
    renderPath  null, or a function applied to every sopsFile/file (the demo plan)

    Returns { plan; planForUsers; } as Nix values; `builtins.toJSON` gives the files.
  */
  mkPlans =
    {
      cfg,
      users ? { },
      groups ? { },
      userMode ? false,
      secretsMountPoint ? defaults.secretsMountPoint,
      symlinkPath ? defaults.symlinkPath,
      renderPath ? null,
      ...
    }:
    let
      n = normalise {
        inherit
          cfg
          users
          symlinkPath
          userMode
          ;
      };
      # home-manager has no early phase: sops-nix's HM module has no neededForUsers either.
      early = b.filter (s: s.neededForUsers && !userMode) n.secrets;
      regular = b.filter (s: !(s.neededForUsers && !userMode)) n.secrets;
      top = common { inherit cfg userMode; };
    in
    {
      plan = top // {
        secrets = renderPaths renderPath regular;
        templates = renderPaths renderPath n.templates;
        # sops-nix sets placeholders only when there are templates; keep that.
        placeholderBySecretName = if n.templates == [ ] then { } else placeholdersByName cfg;
        inherit secretsMountPoint symlinkPath;
        neededForUsers = false;
      };
      planForUsers = top // {
        secrets = renderPaths renderPath (map (forUsersEntry { inherit users groups; }) early);
        # Templates render in the regular phase only (as in sops-nix).
        templates = [ ];
        placeholderBySecretName = { };
        secretsMountPoint = defaults.forUsersMountPoint;
        symlinkPath = defaults.forUsersSymlinkPath;
        neededForUsers = true;
      };
      hasRegular = regular != [ ] || n.templates != [ ];
      hasForUsers = early != [ ];
    };

  # --- checks behind the modules' assertions -------------------------------------------------
  #
  # Each returns { assertion; message; } like NixOS assertions; the modules pass them through.
  # Messages say what to change.

  groupByPath =
    entries:
    b.foldl' (acc: e: acc // { ${e.path} = (acc.${e.path} or [ ]) ++ [ e.what ]; }) { } entries;

  checks =
    args@{
      cfg,
      users ? { },
      groups ? { },
      userMode ? false,
      symlinkPath ? defaults.symlinkPath,
      # The GnuPG defaults sops-nix derives from openssh's RSA host keys: dropped silently.
      derivedGnupgSshKeyPaths ? [ ],
      ...
    }:
    let
      n = normalise {
        inherit
          cfg
          users
          symlinkPath
          userMode
          ;
      };
      age = cfg.age or { };
      gnupg = cfg.gnupg or { };
      placeholders = placeholdersOf cfg;
      earlyNames = map (s: s.name) (b.filter (s: s.neededForUsers) n.secrets);
      earlyPlaceholders = map (nm: placeholders.${nm} or (placeholderFor nm)) earlyNames;
      contains = needle: hay: b.length (b.split (escapeRegex needle) hay) > 1;
      escapeRegex = b.replaceStrings [ "[" "]" "(" ")" "." "*" "+" "?" "^" "$" "|" "{" "}" "\\" ] [
        "\\["
        "\\]"
        "\\("
        "\\)"
        "\\."
        "\\*"
        "\\+"
        "\\?"
        "\\^"
        "\\$"
        "\\|"
        "\\{"
        "\\}"
        "\\\\"
      ];

      secretChecks =
        s:
        let
          where = "sops.secrets.\"${s.name}\"";
        in
        [
          {
            assertion = !(s.owner != null && s.uid != 0);
            message = "${where}: set either owner or uid, not both (owner = \"${toString s.owner}\", uid = ${toString s.uid}).";
          }
          {
            assertion = !(s.group != null && s.gid != 0);
            message = "${where}: set either group or gid, not both (group = \"${toString s.group}\", gid = ${toString s.gid}).";
          }
          {
            assertion = !s.neededForUsers || resolveUid users s != null;
            message = "${where} has neededForUsers = true and owner = \"${toString s.owner}\", but that user has no fixed uid: for-users secrets are installed before users exist, so keyward needs a number. Set users.users.\"${toString s.owner}\".uid, or use uid = <number> instead of owner, or drop owner (root-owned).";
          }
          {
            assertion = !s.neededForUsers || resolveGid groups s != null;
            message = "${where} has neededForUsers = true and group = \"${toString s.group}\", but that group has no fixed gid: for-users secrets are installed before groups exist. Set users.groups.\"${toString s.group}\".gid, or use gid = <number> instead of group.";
          }
        ]
        ++ unitChecks where s;

      unitChecks =
        where: e:
        map (u: {
          assertion = hasUnitSuffix u;
          message = "${where}.restartUnits/reloadUnits: \"${u}\" has no unit suffix, so it would never be restarted; write \"${u}.service\" (or .socket, .timer, …).";
        }) (e.restartUnits ++ e.reloadUnits);

      templateChecks =
        t:
        let
          where = "sops.templates.\"${t.name}\"";
        in
        [
          {
            assertion = !(t.owner != null && t.uid != 0);
            message = "${where}: set either owner or uid, not both.";
          }
          {
            assertion = !(t.group != null && t.gid != 0);
            message = "${where}: set either group or gid, not both.";
          }
          {
            # Only content can be checked: a `file` is not read at evaluation time.
            assertion = t.content == "" || b.any (p: contains p t.content) (b.attrValues placeholders);
            message = "${where}.content contains no placeholder of a declared secret, so it would be installed as is; reference one with \${config.sops.placeholder.\"<secret name>\"} (declared secrets: ${b.concatStringsSep ", " (b.attrNames placeholders)}), or use environment.etc for a file that holds no secret.";
          }
          {
            assertion = !(b.any (p: contains p t.content) earlyPlaceholders);
            message = "${where}.content uses the placeholder of a neededForUsers secret; templates are rendered with the regular secrets, so it would stay literal. Declare a second secret with the same key and without neededForUsers, and use its placeholder.";
          }
        ]
        ++ unitChecks where t;

      # Every file keyward makes, and every `path` link: two owners of one path is a mistake.
      pathEntries =
        map (s: {
          inherit (s) path;
          what = "sops.secrets.\"${s.name}\"";
        }) n.secrets
        ++ map (t: {
          inherit (t) path;
          what = "sops.templates.\"${t.name}\"";
        }) n.templates;
      collisions = b.filter (p: b.length p.value > 1) (
        map (k: {
          name = k;
          value = (groupByPath pathEntries).${k};
        }) (b.attrNames (groupByPath pathEntries))
      );

      keyPaths = b.filter (p: p != null) ([ (age.keyFile or null) ] ++ (age.sshKeyPaths or [ ]));
      gnupgSsh = gnupg.sshKeyPaths or [ ];
    in
    b.concatMap secretChecks n.secrets
    ++ b.concatMap templateChecks n.templates
    ++ map (c: {
      assertion = false;
      message = "These collide on the path ${c.name}: ${b.concatStringsSep ", " c.value}. Give each a distinct name or path.";
    }) collisions
    ++ map (s: {
      # sops-nix's build-time rule: the files must be in the store to be checked and shipped.
      assertion =
        !(cfg.validateSopsFiles or true)
        || (b.isPath s.sopsFile && b.pathExists s.sopsFile)
        || isStorePath s.sopsFile;
      message = "'${toString s.sopsFile}' (sops.secrets.\"${s.name}\".sopsFile) is not in the Nix store. Either add it to the Nix store (use a path like ./secrets.yaml, not a string) or set sops.validateSopsFiles to false.";
    }) n.secrets
    ++ map (p: {
      assertion = !isStorePath p;
      message = "The key file ${toString p} is in the Nix store, which every user can read. Put it outside the store (for example sops.age.keyFile = \"/var/lib/sops-nix/key.txt\" with sops.age.generateKey = true) and copy it to the host out of band.";
    }) keyPaths
    ++ [
      {
        assertion = (cfg.secrets or { }) == { } || userMode || keyPaths != [ ];
        message = "No key source configured for keyward: set sops.age.keyFile, or sops.age.sshKeyPaths, or enable services.openssh with an ed25519 host key.";
      }
      {
        assertion = (gnupg.home or null) == null;
        message = "sops.gnupg.home is set, but keyward is age-only and cannot use GnuPG keys. Re-encrypt the sops files to an age key (`sops updatekeys` after adding an age recipient, or ssh-to-age of the host's ed25519 key) and remove sops.gnupg.home.";
      }
      {
        assertion = gnupgSsh == [ ] || gnupgSsh == derivedGnupgSshKeyPaths;
        message = "sops.gnupg.sshKeyPaths is set, but keyward is age-only and cannot use RSA host keys through GnuPG. Use sops.age.sshKeyPaths with an ed25519 host key (its ssh-to-age recipient) and remove sops.gnupg.sshKeyPaths.";
      }
      {
        assertion = !(gnupg.qubes-split-gpg.enable or false);
        message = "sops.gnupg.qubes-split-gpg is enabled, but keyward is age-only; use an age key and remove it.";
      }
    ];

  # --- activation -------------------------------------------------------------------------

  # sops-nix's with-environment: each value single-quoted and not escaped, so a value may be
  # written to expand in the shell ("'$(cat /run/x)'"), exactly as sops-nix users rely on.
  withEnvironment =
    environment: command:
    if environment == { } then
      command
    else
      "(\n"
      + b.concatStringsSep "" (
        map (k: "  export ${k}='${toString environment.${k}}'\n") (b.attrNames environment)
      )
      + "  ${command}\n)";

  /*
    The activation snippet that installs one plan. `keyward` is the binary's path, `plan` the
    plan file. Unlike sops-nix, PATH is extended by the age plugins' bin directories, not
    replaced by them (sops-nix quirk), so a plugin can still find its own tools.
  */
  activationSnippet =
    {
      keyward,
      plan,
      environment ? { },
      pluginPath ? "",
      message ? "setting up secrets...",
    }:
    let
      env =
        {
          # sops >= 3.10 looks for ~/.ssh keys; keep root's out of it (sops-nix issue #764).
          HOME = "/var/empty";
        }
        // (if pluginPath == "" then { } else { PATH = "${pluginPath}:$PATH"; })
        // environment;
    in
    ''
      [ -e /run/current-system ] || echo ${message}
      ${withEnvironment env "${keyward} install ${plan}"}
    '';

  # age.generateKey: the key is made with a 077 umask, whatever age-keygen does.
  generateKeySnippet =
    { ageKeygen, keyFile }:
    ''
      if [[ ! -f '${keyFile}' ]]; then
        (
          umask 077
          mkdir -p "$(dirname '${keyFile}')"
          echo generating machine-specific age key...
          ${ageKeygen} -o '${keyFile}'
        )
      fi
    '';
in
{
  inherit
    defaults
    placeholderFor
    placeholdersFor
    secretPath
    templatePath
    hasUnitSuffix
    isStorePath
    secretWithDefaults
    templateWithDefaults
    mkPlans
    checks
    withEnvironment
    activationSnippet
    generateKeySnippet
    ;
}
