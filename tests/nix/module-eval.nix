# Module evaluation tests: the NixOS module (and the home-manager one) evaluated with nixpkgs'
# lib, the stub of ./stub/nixos.nix and the fake pkgs of ./stub/pkgs.nix. Nothing is built.
# Returns { "<test>" = true | "<what differed>"; }; tests/nix/run.sh prints one line per test.
# Usage: nix-instantiate --eval --strict --json tests/nix/module-eval.nix --arg lib 'import <nixpkgs.lib>/lib'
{ lib }:
let
  b = builtins;
  pkgs = import ./stub/pkgs.nix { inherit lib; };
  planLib = import ../../modules/lib/plan.nix;
  golden = name: b.fromJSON (b.readFile (./golden + "/${name}.json"));

  evalNixos =
    modules:
    (lib.evalModules {
      modules = [
        ./stub/nixos.nix
        ../../modules/nixos
        { _module.args.pkgs = pkgs; }
      ] ++ modules;
    }).config;

  # home-manager: its lib.hm.dag is all the module uses of home-manager's lib.
  hmLib = lib.extend (
    _: _: {
      hm.dag.entryAfter = after: data: { inherit after data; };
    }
  );
  evalHome =
    modules:
    (hmLib.evalModules {
      modules = [
        ./stub/home-manager.nix
        ../../modules/home-manager
        { _module.args.pkgs = pkgs; }
      ] ++ modules;
    }).config;
  home =
    let
      case = import ./cases/home-manager.nix;
    in
    evalHome [ { sops = case.cfg; } ];

  fromJSON = s: b.fromJSON (b.unsafeDiscardStringContext s);
  planOf = c: fromJSON c.system.build.keyward-plan.text;
  planForUsersOf = c: fromJSON c.system.build.keyward-plan-for-users.text;
  failed = c: lib.sort lib.lessThan (map (a: a.message) (b.filter (a: !a.assertion) c.assertions));
  # Template files are store paths from the module, null in the hand-written goldens.
  noFiles = p: p // { templates = map (t: t // { file = null; }) p.templates; };

  # A hand-written case (tests/nix/cases) as a NixOS configuration.
  caseModule =
    case:
    { lib, ... }:
    {
      sops = case.cfg;
      users.users = b.mapAttrs (_: u: { inherit (u) uid group; }) (case.users or { });
      users.groups = case.groups or { };
    };
  caseConfig = name: evalNixos [ (caseModule (import (./cases + "/${name}.nix"))) ];

  expect =
    got: want:
    if got == want then true else "expected ${b.toJSON want}, got ${b.toJSON got}";
  all = results: b.foldl' (acc: r: if acc != true then acc else r) true results;

  # The hand-written cases name sops files that do not exist: no hashing for them.
  minimal = evalNixos [
    (caseModule (import ./cases/minimal.nix))
    { sops.validateSopsFiles = lib.mkForce false; }
  ];
  # Defaults, with a sops file that exists.
  plain = evalNixos [
    {
      sops.defaultSopsFile = ../../secrets/example.yaml;
      sops.age.keyFile = "/var/lib/sops-nix/key.txt";
      sops.secrets.example-key = { };
    }
  ];
  full = caseConfig "full";
  bad = caseConfig "checks-bad";

  sysusers = evalNixos [
    (caseModule (import ./cases/full.nix))
    { systemd.sysusers.enable = true; }
  ];
  forced = evalNixos [
    (caseModule (import ./cases/full.nix))
    { sops.useSystemdActivation = true; }
  ];

  openssh = evalNixos [
    {
      services.openssh.enable = true;
      services.openssh.hostKeys = [
        {
          path = "/etc/ssh/ssh_host_rsa_key";
          type = "rsa";
        }
        {
          path = "/etc/ssh/ssh_host_ed25519_key";
          type = "ed25519";
        }
      ];
      sops.defaultSopsFile = ../../secrets/example.yaml;
      sops.secrets."postgres/password" = { };
    }
  ];

  # sops-nix's README, its examples as written there (with the repository's example file).
  readme = evalNixos [
    (
      { config, ... }:
      {
        users.users.nobody = {
          uid = 65534;
          group = "nogroup";
        };
        users.users.mic92 = {
          uid = 1000;
          group = "users";
          hashedPasswordFile = config.sops.secrets.my-password.path;
        };
        sops.defaultSopsFile = ../../secrets/example.yaml;
        sops.age.sshKeyPaths = [ "/etc/ssh/ssh_host_ed25519_key" ];
        sops.age.keyFile = "/var/lib/sops-nix/key.txt";
        sops.age.generateKey = true;
        sops.secrets.example-key = { };
        sops.secrets."myservice/my_subdir/my_secret" = {
          mode = "0440";
          owner = config.users.users.nobody.name;
          group = config.users.users.nobody.group;
          restartUnits = [ "home-assistant.service" ];
          path = "/var/lib/hass/secrets.yaml";
        };
        sops.secrets.my-password.neededForUsers = true;
        sops.secrets.your-secret = { };
        sops.templates."your-config-with-secrets.toml".content = ''
          password = "${config.sops.placeholder.your-secret}"
        '';
      }
    )
  ];
  pick = s: {
    inherit (s)
      name
      key
      path
      owner
      group
      uid
      gid
      mode
      format
      ;
  };

  # The example host's values through the module equal the demo plan, but for what the demo
  # replaces (sopsFile, ageKeyFile, template files).
  example = evalNixos [
    (
      { config, ... }:
      {
        sops = import ../../hosts/example/sops.nix {
          secretsDir = ../../secrets;
          inherit (config.sops) placeholder;
        };
        users = import ../../hosts/example/users.nix;
      }
    )
  ];
  demoShape =
    p:
    noFiles p
    // {
      ageKeyFile = null;
      secrets = map (s: s // { sopsFile = baseNameOf s.sopsFile; }) p.secrets;
    };
  stripStore =
    p:
    demoShape (
      p
      // {
        secrets = map (
          s: s // { sopsFile = lib.last (lib.splitString "-" (baseNameOf s.sopsFile)); }
        ) p.secrets;
      }
    );
  # Every option path the NixOS module declares, submodules' as `<name>`.
  optionPaths =
    let
      opts = (lib.evalModules {
        modules = [
          ./stub/nixos.nix
          ../../modules/nixos
          { _module.args.pkgs = pkgs; }
        ];
      }).options.sops;
      top = lib.collect lib.isOption opts;
      sub =
        prefix: o:
        map (x: "${prefix}.<name>.${lib.last x.loc}") (
          lib.filter (x: !(lib.elem "_module" x.loc)) (lib.collect lib.isOption (o.type.getSubOptions [ ]))
        );
    in
    lib.filter (p: !(lib.hasInfix "_module" p)) (
      map (o: lib.showOption o.loc) top
      ++ sub "sops.secrets" opts.secrets
      ++ sub "sops.templates" opts.templates
    );
  docs = b.readFile ../../docs/options.md;
in
{
  "docs/options.md lists every option" = expect (lib.filter (
    p: !(lib.hasInfix "`${p}`" docs || lib.hasInfix "`${p} " docs)
  ) optionPaths) [ ];

  "defaults equal sops-nix's" = all [
    (expect {
      inherit (plain.sops)
        keepGenerations
        log
        useTmpfs
        useSystemdActivation
        validateSopsFiles
        defaultSopsFormat
        defaultSopsKey
        environment
        failurePolicy
        lockTimeoutSeconds
        ;
      audit = plain.sops.audit.enable;
      sshKeyPaths = plain.sops.age.sshKeyPaths;
      gnupg = plain.sops.gnupg.sshKeyPaths;
    } {
      keepGenerations = 1;
      log = [
        "keyImport"
        "secretChanges"
      ];
      useTmpfs = false;
      useSystemdActivation = false;
      validateSopsFiles = true;
      defaultSopsFormat = "yaml";
      defaultSopsKey = null;
      environment = { };
      failurePolicy = "all-or-nothing";
      lockTimeoutSeconds = 60;
      audit = true;
      sshKeyPaths = [ ];
      gnupg = [ ];
    })
    (expect (pick plain.sops.secrets.example-key) {
      name = "example-key";
      key = "example-key";
      path = "/run/secrets/example-key";
      owner = null;
      group = null;
      uid = 0;
      gid = 0;
      mode = "0400";
      format = "yaml";
    })
  ];

  "minimal case: module plan equals the golden plan" = expect {
    plan = planOf minimal;
    planForUsers = planForUsersOf minimal;
  } (golden "minimal");

  "every option reaches the plan (full case)" = expect {
    plan = noFiles (planOf full);
    planForUsers = planForUsersOf full;
  } (golden "full");

  "assertions fire with their messages" = expect (failed bad) (
    lib.sort lib.lessThan (golden "checks-bad")
  );

  "no assertion fires on a good configuration" = expect (failed full) [ ];

  "for-users split: activation scripts, before users" = all [
    (expect (lib.attrNames minimal.system.activationScripts) [ "setupSecrets" ])
    (expect (b.attrNames full.system.activationScripts) [
      "setupSecrets"
      "setupSecretsForUsers"
      "users"
    ])
    (expect full.system.activationScripts.users.deps [ "setupSecretsForUsers" ])
    (expect full.system.activationScripts.setupSecrets.deps [
      "specialfs"
      "users"
      "groups"
    ])
    (expect (b.attrNames full.systemd.services) [ ])
    (expect (map (s: s.name) (planForUsersOf full).secrets) [
      "alice-hash"
      "root-hash"
      "shared-group-hash"
    ])
  ];

  "dry-activate is supported by both snippets" = expect [
    full.system.activationScripts.setupSecrets.supportsDryActivation
    full.system.activationScripts.setupSecretsForUsers.supportsDryActivation
  ] [ true true ];

  "activation snippet runs keyward install on the plan" = expect
    full.system.activationScripts.setupSecrets.text
    (planLib.activationSnippet {
      keyward = "/nix/store/00000000000000000000000000000000-keyward/bin/keyward";
      plan = "/nix/store/00000000000000000000000000000000-keyward-plan.json";
    });

  "sysusers: sops-install-secrets units instead of snippets" = all [
    (expect (b.attrNames sysusers.system.activationScripts) [ ])
    (expect (b.attrNames sysusers.systemd.services) [
      "sops-install-secrets"
      "sops-install-secrets-for-users"
    ])
    (expect sysusers.systemd.services.sops-install-secrets.environment.SOPS_RESTART_UNITS_VIA_SYSTEMCTL "1")
    (expect sysusers.systemd.services.sops-install-secrets.requiredBy [ "sysinit-reactivation.target" ])
    (expect (b.elem "systemd-sysusers.service" sysusers.systemd.services.sops-install-secrets-for-users.before) true)
    (expect sysusers.systemd.services.sops-install-secrets.unitConfig.RequiresMountsFor [
      "/var/lib/sops-nix/key.txt"
      "/etc/ssh/ssh_host_ed25519_key"
    ])
  ];

  "useSystemdActivation moves the for-users phase too, with a warning" = all [
    (expect (b.attrNames forced.systemd.services) [
      "sops-install-secrets"
      "sops-install-secrets-for-users"
    ])
    (expect (b.length forced.warnings) 1)
  ];

  "openssh defaults: ed25519 used, RSA GnuPG default dropped silently" = all [
    (expect (failed openssh) [ ])
    (expect (planOf openssh).ageSshKeyPaths [ "/etc/ssh/ssh_host_ed25519_key" ])
    (expect (planOf openssh).sshKeyPaths [ ])
    (expect (planOf openssh).gnupgHome null)
  ];

  "renamed sops.gnupgHome still fails as age-only" = expect (failed (evalNixos [
    {
      sops.gnupgHome = "/var/lib/sops";
      sops.age.keyFile = "/k";
      sops.defaultSopsFile = ../../secrets/example.yaml;
      sops.secrets."postgres/password" = { };
    }
  ])) [
    "sops.gnupg.home is set, but keyward is age-only and cannot use GnuPG keys. Re-encrypt the sops files to an age key (`sops updatekeys` after adding an age recipient, or ssh-to-age of the host's ed25519 key) and remove sops.gnupg.home."
  ];

  "sops-nix README example: same secrets, paths, owners and modes" = all [
    (expect (failed readme) [ ])
    (expect (map pick ((planOf readme).secrets ++ (planForUsersOf readme).secrets)) [
      {
        name = "example-key";
        key = "example-key";
        path = "/run/secrets/example-key";
        owner = null;
        group = null;
        uid = 0;
        gid = 0;
        mode = "0400";
        format = "yaml";
      }
      {
        name = "myservice/my_subdir/my_secret";
        key = "myservice/my_subdir/my_secret";
        path = "/var/lib/hass/secrets.yaml";
        owner = "nobody";
        group = "nogroup";
        uid = 0;
        gid = 0;
        mode = "0440";
        format = "yaml";
      }
      {
        name = "your-secret";
        key = "your-secret";
        path = "/run/secrets/your-secret";
        owner = null;
        group = null;
        uid = 0;
        gid = 0;
        mode = "0400";
        format = "yaml";
      }
      {
        name = "my-password";
        key = "my-password";
        path = "/run/secrets-for-users/my-password";
        owner = null;
        group = null;
        uid = 0;
        gid = 0;
        mode = "0400";
        format = "yaml";
      }
    ])
    (expect readme.users.users.mic92.hashedPasswordFile "/run/secrets-for-users/my-password")
    (expect (map (t: {
      inherit (t) name path content;
    }) (planOf readme).templates) [
      {
        name = "your-config-with-secrets.toml";
        path = "/run/secrets/rendered/your-config-with-secrets.toml";
        content = "password = \"${planLib.placeholderFor "your-secret"}\"\n";
      }
    ])
    (expect (b.attrNames readme.system.activationScripts) [
      "generate-age-key"
      "setupSecrets"
      "setupSecretsForUsers"
      "users"
    ])
    (expect readme.system.activationScripts.setupSecrets.deps [
      "specialfs"
      "users"
      "groups"
      "generate-age-key"
    ])
  ];

  "plan check phase runs keyward check --sops-files" = expect
    full.system.build.keyward-plan.checkPhase
    "/nix/store/00000000000000000000000000000000-keyward/bin/keyward check  \"$out\"\n"
    == true
    && expect readme.system.build.keyward-plan.checkPhase
      "/nix/store/00000000000000000000000000000000-keyward/bin/keyward check --sops-files \"$out\"\n"
      == true;

  "home-manager: user-mode plan equals the golden plan" = expect {
    plan = noFiles (fromJSON home.sops.keywardPlan.text);
  } { inherit (golden "home-manager") plan; };

  "home-manager: sops-nix user service, restarted on activation" = all [
    (expect home.systemd.user.services.sops-nix.Install.WantedBy [ "default.target" ])
    (expect home.systemd.user.services.sops-nix.Service.Type "oneshot")
    (expect home.home.activation.sops-nix.after [ "writeBoundary" ])
    (expect (failed home) [ ])
  ];

  "example host through the module equals the demo plan" = all [
    (expect (failed example) [ ])
    (expect (stripStore (planOf example)) (demoShape (b.fromJSON (b.readFile ../../hosts/example/plan.json))))
    (expect (stripStore (planForUsersOf example)) (
      demoShape (b.fromJSON (b.readFile ../../hosts/example/plan-for-users.json))
    ))
  ];
}
