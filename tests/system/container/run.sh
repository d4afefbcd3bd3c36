#!/usr/bin/env bash
# The container tier: every scenario in scenarios/ runs the real keyward binary as root in its
# own container (unshare --mount --pid --net --fork + chroot into a copy of a small root with
# its own /etc/passwd and /etc/group, a tmpfs /run, a real ramfs mounted by keyward itself),
# then the crash-safety run (crash.sh) with CRASH_RUNS runs (default 200 here; the full run is
# `CRASH_RUNS=1000 bash tests/system/container/crash.sh`).
#
#   bash tests/system/container/run.sh [SCENARIO-NAME...]
#   env: KEYWARD_BIN (default target/release/keyward), CRASH_RUNS (0 skips the crash run),
#        WORK (default: a temporary directory), KEEP=1 keeps WORK, VERBOSE=1 prints every log.
#
# Skips (exit 0, with a message) when not root or when unshare is not permitted; with CI=true
# that is a failure. The last line is exactly `N passed, N failed[, N skipped]`.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/rootfs.sh"

if ! container_preflight; then
  if [ "${CI:-}" = true ]; then
    echo "container tier: cannot run in CI: $SKIP_REASON" >&2
    echo "0 passed, 1 failed"; exit 1
  fi
  echo "SKIPPED: container tier: $SKIP_REASON"
  echo "0 passed, 0 failed, 1 skipped"; exit 0
fi

now_us() { echo $(( ${EPOCHREALTIME/./} )); }
secs() { local d=$(( $(now_us) - $1 )); printf '%d.%02d' $((d / 1000000)) $((d % 1000000 / 10000)); }
t0=$(now_us)
WORK=${WORK:-$(mktemp -d /tmp/keyward-container.XXXXXX)}
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"
build_base_rootfs "$WORK/base" || { echo "cannot build the container root"; echo "0 passed, 1 failed"; exit 1; }

if [ $# -gt 0 ]; then names=("$@"); else
  names=(); for f in "$HERE"/scenarios/*.sh; do names+=("$(basename "$f" .sh)"); done
fi
passed=0 failed=0 failed_names=()
for n in "${names[@]}"; do
  s=$(now_us)
  log=$WORK/$n.log
  if run_in_container "$WORK/base" "$WORK/c" "$log" "/harness/scenarios/$n.sh"; then
    passed=$((passed + 1)); res=PASS
  else
    failed=$((failed + 1)); res=FAIL; failed_names+=("$n")
  fi
  # the container's mounts died with its namespace: nothing may have leaked into ours
  if grep -qF "$WORK/" /proc/self/mounts; then
    [ "$res" = PASS ] && { passed=$((passed - 1)); failed=$((failed + 1)); failed_names+=("$n"); }
    res="FAIL (mounts leaked into the host namespace)"
  fi
  printf '%-4s %-70s %6ss  (%s)\n' "$res" "$n" "$(secs "$s")" \
    "$(tail -1 "$log")"
  if [ "$res" != PASS ] || [ "${VERBOSE:-0}" = 1 ]; then sed 's/^/    | /' "$log"; fi
done
rm -rf "$WORK/c"

if [ $# -eq 0 ] && [ "${CRASH_RUNS:-200}" != 0 ]; then
  s=$(now_us)
  if CRASH_RUNS=${CRASH_RUNS:-200} WORK=$WORK/crash KEEP=1 bash "$HERE/crash.sh" >"$WORK/crash.log" 2>&1; then
    passed=$((passed + 1)); res=PASS
  else
    failed=$((failed + 1)); res=FAIL; failed_names+=(crash_safety)
  fi
  printf '%-4s %-70s %6ss\n' "$res" "crash_safety (CRASH_RUNS=${CRASH_RUNS:-200})" "$(secs "$s")"
  grep -E '^(crash:|TORN|runs)' "$WORK/crash.log" | sed 's/^/    | /'
  [ "$res" = PASS ] && [ "${VERBOSE:-0}" != 1 ] || sed 's/^/    | /' "$WORK/crash.log"
fi

echo "container tier: $(secs "$t0")s${failed_names:+; failed: ${failed_names[*]}}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
