#!/usr/bin/env bash
# The benchmark, one command: bash bench/run.sh          (BENCH_QUICK=1 for a fast check)
#
# 1. makes (or reuses) the fixtures with the real sops and age (bench/fixtures.sh, cached in
#    bench/work/cache, keyed by their parameters);
# 2. builds keyward and the floor (bench/floor) in release mode, --locked;
# 3. measures, as root in a private mount namespace (unshare --mount) with the scratch dir on a
#    ramfs (else in a temporary directory, said in the table), median of BENCH_RUNS runs;
# 4. prints the table (bench/report.py) and keeps it in bench/work/results/.
#
# Settings (environment): BENCH_QUICK=1 (5 runs, W3 = 200 files), BENCH_RUNS (default 11; 5 quick),
# BENCH_W3_FILES (default 1000; 200 quick), SOPS (default /root/go/bin/sops), BENCH_AGE (default
# /usr/bin/age), CARGO_TARGET_DIR, BENCH_SIS (the sops-install-secrets binary; default: found on
# PATH or in ~/go/bin, else its rows read "unavailable").
set -euo pipefail
SECONDS=0
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
WORK="$HERE/work"
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then RUNS=${BENCH_RUNS:-5}; W3=${BENCH_W3_FILES:-200}
else RUNS=${BENCH_RUNS:-11}; W3=${BENCH_W3_FILES:-1000}; fi
[ "$RUNS" -ge 5 ] || { echo "bench: BENCH_RUNS must be at least 5" >&2; exit 2; }
K=10 W1=100 W2K=1000
POOL=$(( W3 > W1 ? W3 : W1 ))

for b in python3 "${BENCH_AGE:-/usr/bin/age}" "${BENCH_TIME:-/usr/bin/time}"; do
  command -v "$b" >/dev/null || { echo "bench: missing tool: $b" >&2; exit 1; }
done

# 1. fixtures
bash "$HERE/fixtures.sh" "$WORK/cache" "$POOL" "$K" "$W1" "$W2K"

# 2. binaries
echo "bench: building keyward and the floor (release, --locked)" >&2
(cd "$REPO" && cargo build --release --locked --quiet -p keyward -p keyward-bench-floor)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
case "$TARGET" in /*) ;; *) TARGET="$REPO/$TARGET" ;; esac
KEYWARD="$TARGET/release/keyward"; FLOOR="$TARGET/release/keyward-bench-floor"

# The peer: sops-nix's helper, if someone could build it here.
SIS=${BENCH_SIS:-}
if [ -z "$SIS" ]; then
  SIS=$(command -v sops-install-secrets 2>/dev/null || true)
  [ -n "$SIS" ] || { [ -x "$HOME/go/bin/sops-install-secrets" ] && SIS="$HOME/go/bin/sops-install-secrets"; } || true
fi
if [ -z "$SIS" ]; then
  echo "bench: sops-install-secrets not found (PATH, ~/go/bin): its rows are reported as unavailable" >&2
  echo "bench:   (go install github.com/Mic92/sops-nix/pkgs/sops-install-secrets@56b24064… is refused by the Go proxy here)" >&2
fi

# 3. measure
mkdir -p "$WORK/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS="$WORK/results/$stamp.json"
export BENCH_CACHE="$WORK/cache" BENCH_KEYWARD="$KEYWARD" BENCH_FLOOR="$FLOOR" BENCH_SIS="$SIS"
export BENCH_AGE="${BENCH_AGE:-/usr/bin/age}" BENCH_RUNS="$RUNS" BENCH_K="$K" BENCH_W1_FILES="$W1"
export BENCH_TOOLS="$(SOPS_DISABLE_VERSION_CHECK=1 "${SOPS:-/root/go/bin/sops}" --version 2>/dev/null | head -n1), age $("$BENCH_AGE" --version 2>/dev/null)"
export BENCH_W3_FILES="$W3" BENCH_W2_KEYS="$W2K" BENCH_RESULTS="$RESULTS" BENCH_QUICK="$QUICK"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/keyward-bench.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
export BENCH_SCRATCH="$SCRATCH"
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare --mount true 2>/dev/null; then
  # Mounts made in here vanish with the namespace: nothing leaks to the host's mount table.
  BENCH_RAMFS=1 unshare --mount --propagation private -- bash -c '
    set -euo pipefail
    mount -t ramfs -o mode=0700 ramfs "$BENCH_SCRATCH"
    python3 "$0/harness.py"' "$HERE"
else
  echo "bench: not root (or no unshare): measuring in $SCRATCH, NOT on a ramfs" >&2
  BENCH_RAMFS=0 BENCH_NOTE="not root, measured in a temporary directory on $(df -T "$SCRATCH" | awk 'NR==2{print $2}')" \
    python3 "$HERE/harness.py"
fi
rm -rf "$SCRATCH"

# 4. the table
python3 "$HERE/report.py" "$RESULTS" | tee "$WORK/results/$stamp.txt"
cp "$RESULTS" "$WORK/results/latest.json"; cp "$WORK/results/$stamp.txt" "$WORK/results/latest.txt"
printf '\nbench: total %d s (fixtures, build, measurements); results in %s\n' \
  "$SECONDS" "$WORK/results/$stamp.txt"
