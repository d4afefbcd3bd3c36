# Evaluate the pure plan function on one hand-written case: the plans as the module would write
# them. Usage: nix-instantiate --eval --strict --json tests/nix/eval-plan.nix --arg case ./cases/x.nix
{ case }:
let
  plan = import ../../modules/lib/plan.nix;
  r = plan.mkPlans (import case);
in
{
  inherit (r) plan planForUsers;
}
