# The messages of the checks that fail for one hand-written case (the modules' assertions).
# Usage: nix-instantiate --eval --strict --json tests/nix/eval-checks.nix --arg case ./cases/x.nix
{ case }:
let
  plan = import ../../modules/lib/plan.nix;
in
map (c: c.message) (builtins.filter (c: !c.assertion) (plan.checks (import case)))
