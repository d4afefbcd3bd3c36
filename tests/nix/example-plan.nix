# The demo plan: the example host's option values (hosts/example/sops.nix) through the pure
# plan function, with the two things that only make sense on the host replaced so the plan
# works from a checkout:
#   * sopsFile paths are relative to the repository root (the module would give store paths);
#     run the demo from the repository root;
#   * ageKeyFile is the committed test key, hosts/example/test-age-key.txt (TEST MATERIAL).
# Target paths (/run/secrets.d, /etc/ssh/…) stay absolute: the demo installs under a temporary
# root (see hosts/example/DEMO-PLAN.md). Template `file` is null: the content is inline.
# tests/nix/run.sh checks that hosts/example/plan.json and plan-for-users.json equal this.
let
  plan = import ../../modules/lib/plan.nix;
  root = toString ../..;
  data = import ../../hosts/example/sops.nix {
    secretsDir = ../../secrets;
    placeholder = plan.placeholdersFor (builtins.attrNames data.secrets);
  };
  relative =
    p:
    let
      s = toString p;
    in
    builtins.substring (builtins.stringLength root + 1) (builtins.stringLength s) s;
  # The users and groups the NixOS host has (nixpkgs' fixed ids, and alice from default.nix).
  users = import ../../hosts/example/users.nix;
  r = plan.mkPlans {
    cfg = data;
    inherit (users) users groups;
    renderPath = relative;
  };
  demo = p: p // { ageKeyFile = "hosts/example/test-age-key.txt"; };
in
{
  plan = demo r.plan;
  planForUsers = demo r.planForUsers;
}
