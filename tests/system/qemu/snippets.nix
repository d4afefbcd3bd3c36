# The activation snippets the NixOS module (modules/nixos/default.nix, `snippet`) puts into
# system.activationScripts.{setupSecretsForUsers,setupSecrets} for the example host, made by the
# same pure function (modules/lib/plan.nix's activationSnippet) with the host's values
# (hosts/example/sops.nix: its `environment`, no age plugins). Builtins only, so a bare
# `nix-instantiate --eval --strict --json` evaluates it.
#
# The plan files are named by the in-VM store paths that tests/system/qemu/run.sh writes on the
# VM's disk: system generation 1 (the host as checked in), 2 (rotated secrets) and 3 (a corrupted
# sops file). The binary is the VM's /bin/keyward, where the module would put
# ${cfg.package}/bin/keyward.
# tests/system/qemu/snippets.golden.json is this file's output (run.sh uses it when nix-instantiate
# is missing, and checks it is current when it is not; UPDATE_GOLDEN=1 rewrites it).
let
  planLib = import ../../../modules/lib/plan.nix;
  host = import ../../../hosts/example/sops.nix {
    secretsDir = ../../../secrets;
    placeholder = planLib.placeholdersFor [ ];
  };
  keyward = "/bin/keyward";
  store = "/nix/store";
  snippet =
    plan: message:
    planLib.activationSnippet {
      inherit keyward plan message;
      environment = host.environment or { };
      pluginPath = "";
    };
  regular = n: snippet "${store}/0000000000000000000000000000000${n}-keyward-plan.json" "setting up secrets...";
in
{
  setupSecretsForUsers =
    snippet "${store}/00000000000000000000000000000001-keyward-plan-for-users.json"
      "setting up secrets for users...";
  setupSecrets1 = regular "1";
  setupSecrets2 = regular "2";
  setupSecrets3 = regular "3";
}
