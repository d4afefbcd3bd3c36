#!/usr/bin/env bash
# Every Nix test that runs offline, with Debian's nix-bin (Nix 2.8) and nothing else:
#   1. every .nix file parses (nix-instantiate --parse);
#   2. the pure plan function (modules/lib/plan.nix) on hand-written option values
#      (tests/nix/cases/*.nix) equals the golden plans and check results (tests/nix/golden/);
#   3. the checked-in demo plan of the example host (hosts/example/plan*.json) equals what the
#      plan function makes from the host's option values (hosts/example/sops.nix);
#   4. with KEYWARD_BIN=/path/to/keyward: `keyward check` accepts every golden plan, and
#      `keyward check --sops-files` the demo plan (Nix -> Rust round trip);
#   5. with KEYWARD_NIXPKGS_LIB=/path/to/nixpkgs.lib checkout: the NixOS and home-manager
#      modules evaluated with nixpkgs' lib and a small NixOS stub (tests/nix/module-eval.nix).
# Nix runs with no substituters, a local empty flake registry and, when possible, in a network
# namespace of its own (unshare -n), so nothing can leave the machine.
# UPDATE_GOLDEN=1 rewrites the golden files and the demo plan instead of comparing.
# The last line is "N passed, N failed[, N skipped]"; the exit status is non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

pass=0
fail=0
skip=0
ok() {
  pass=$((pass + 1))
  echo "ok: $*"
}
notok() {
  fail=$((fail + 1))
  echo "FAIL: $*"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo '{"flakes":[],"version":2}' >"$tmp/registry.json"
export NIX_CONFIG="substituters =
flake-registry = $tmp/registry.json"
# Keep `nix-instantiate` from touching the user's profile or channels.
export NIX_PATH=

if ! command -v nix-instantiate >/dev/null; then
  echo "nix-instantiate not found: install Debian's nix-bin" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if unshare -n true 2>/dev/null; then
  off() { unshare -n -- "$@"; }
else
  echo "note: unshare -n is not allowed here; relying on the empty substituters alone"
  off() { "$@"; }
fi

# nix-instantiate --eval --strict --json with the given arguments, to stdout.
evalJSON() { off nix-instantiate --eval --strict --json "$@" 2>"$tmp/stderr"; }

# Compare the JSON in file $2 with file $1 (the golden), structurally, in Nix.
sameJSON() {
  local r
  r=$(off nix-instantiate --eval --strict --json -E "
    builtins.fromJSON (builtins.readFile $1) == builtins.fromJSON (builtins.readFile $2)") || return 2
  [ "$r" = true ]
}

# Show the first differences between two JSON files (one value per line, sorted keys).
showDiff() {
  for f in "$1" "$2"; do
    off nix-instantiate --eval --strict --json -E "builtins.fromJSON (builtins.readFile $f)" |
      sed 's/,"/,\n"/g; s/\[{/[\n{/g' >"$f.lines"
  done
  diff "$1.lines" "$2.lines" | head -20
}

# golden NAME GOT-FILE GOLDEN-FILE: compare, or rewrite with UPDATE_GOLDEN=1.
golden() {
  local name=$1 got=$2 want=$3
  if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
    if command -v python3 >/dev/null; then
      python3 -m json.tool --indent 2 "$got" >"$want"
    else
      cp "$got" "$want"
    fi
    ok "$name (golden rewritten: $want)"
  elif [ ! -f "$want" ]; then
    notok "$name: no golden file $want (run with UPDATE_GOLDEN=1 to make it)"
  elif sameJSON "$PWD/$want" "$got"; then
    ok "$name"
  else
    notok "$name: differs from $want"
    showDiff "$PWD/$want" "$got"
  fi
}

echo "== every .nix file parses =="
while IFS= read -r f; do
  if off nix-instantiate --parse "$f" >/dev/null 2>"$tmp/stderr"; then
    ok "parse $f"
  else
    notok "parse $f"
    head -5 "$tmp/stderr"
  fi
done < <(find . -name '*.nix' -not -path './.git/*' -not -path './target/*' | sort)

echo "== the plan function on hand-written option values =="
for c in tests/nix/cases/*.nix; do
  n=$(basename "$c" .nix)
  case "$n" in
  checks-*) driver=tests/nix/eval-checks.nix ;;
  *) driver=tests/nix/eval-plan.nix ;;
  esac
  if evalJSON "$driver" --arg case "./$c" >"$tmp/$n.json"; then
    golden "plan function: $n" "$tmp/$n.json" "tests/nix/golden/$n.json"
  else
    notok "plan function: $n does not evaluate"
    head -10 "$tmp/stderr"
  fi
done

echo "== the demo plan of the example host =="
if evalJSON tests/nix/example-plan.nix >"$tmp/example.json"; then
  for p in plan planForUsers; do
    file=hosts/example/plan.json
    [ "$p" = planForUsers ] && file=hosts/example/plan-for-users.json
    evalJSON -E "(builtins.fromJSON (builtins.readFile $tmp/example.json)).$p" >"$tmp/example-$p.json"
    golden "demo plan $file equals the plan function's output" "$tmp/example-$p.json" "$file"
  done
else
  notok "tests/nix/example-plan.nix does not evaluate"
  head -10 "$tmp/stderr"
fi

echo "== keyward check on the plans (Nix -> Rust) =="
if [ -n "${KEYWARD_BIN:-}" ]; then
  for g in tests/nix/golden/*.json; do
    n=$(basename "$g" .json)
    case "$n" in checks-*) continue ;; esac
    for p in plan planForUsers; do
      evalJSON -E "(builtins.fromJSON (builtins.readFile $PWD/$g)).$p" >"$tmp/$n-$p.plan.json"
      if "$KEYWARD_BIN" check "$tmp/$n-$p.plan.json" >"$tmp/out" 2>&1; then
        ok "keyward check accepts golden $n.$p"
      else
        notok "keyward check rejects golden $n.$p"
        head -10 "$tmp/out"
      fi
    done
  done
  for f in hosts/example/plan.json hosts/example/plan-for-users.json; do
    if "$KEYWARD_BIN" check --sops-files "$f" >"$tmp/out" 2>&1; then
      ok "keyward check --sops-files accepts $f"
    else
      notok "keyward check --sops-files rejects $f"
      head -10 "$tmp/out"
    fi
  done
else
  skip=$((skip + 1))
  echo "SKIPPED: keyward check round trip (set KEYWARD_BIN=/path/to/keyward)"
fi

echo "== module evaluation with nixpkgs lib =="
if [ -n "${KEYWARD_NIXPKGS_LIB:-}" ]; then
  lib=$KEYWARD_NIXPKGS_LIB
  [ -d "$lib/lib" ] && lib=$lib/lib
  drv="import $PWD/tests/nix/module-eval.nix { lib = import $(realpath "$lib"); }"
  # One evaluation per test, so an evaluation error fails that test only.
  if names=$(evalJSON -E "builtins.concatStringsSep \"\n\" (builtins.attrNames ($drv))"); then
    while IFS= read -r name; do
      [ -n "$name" ] || continue
      if r=$(evalJSON -E "($drv).\"$name\""); then
        if [ "$r" = true ]; then ok "module: $name"; else notok "module: $name: $r"; fi
      else
        notok "module: $name does not evaluate"
        grep -m3 -E 'error|while' "$tmp/stderr"
      fi
    done < <(printf '%b\n' "$(echo "$names" | sed 's/^"//; s/"$//')")
  else
    notok "module evaluation tests do not evaluate"
    head -20 "$tmp/stderr"
  fi
else
  skip=$((skip + 1))
  echo "SKIPPED: module evaluation tests (set KEYWARD_NIXPKGS_LIB=/path/to/a/nix-community/nixpkgs.lib checkout)"
fi

if [ "$skip" -gt 0 ]; then
  echo "$pass passed, $fail failed, $skip skipped"
else
  echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
