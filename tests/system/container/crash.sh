#!/usr/bin/env bash
# Crash safety of `keyward install` (invariant 1), in a container like run.sh's: for every
# KEYWARD_FAULT_AT step (docs/plan.md) the install is killed there, on a first install, a
# change and a prune; then CRASH_RUNS installs are SIGKILLed after a random delay (0 to 1.3x
# an install's duration), spread over first installs, changes and prunes. After each kill:
# /run/secrets is the complete old or the complete new generation (never a mix), no
# plaintext outside the mount, and the next run converges. Prints the counts; exits non-zero
# on any torn state.
#
#   CRASH_RUNS=1000 bash tests/system/container/crash.sh      # the full run (default 200)
#   env: KEYWARD_BIN, CRASH_SEED (reproducible delays), WORK, KEEP=1
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/rootfs.sh"
if ! container_preflight; then
  if [ "${CI:-}" = true ]; then echo "crash run: cannot run in CI: $SKIP_REASON" >&2; exit 1; fi
  echo "SKIPPED: crash run: $SKIP_REASON"; exit 0
fi
export CRASH_RUNS=${CRASH_RUNS:-200} CRASH_SEED=${CRASH_SEED:-$RANDOM}
WORK=${WORK:-$(mktemp -d /tmp/keyward-crash.XXXXXX)}
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"
build_base_rootfs "$WORK/base" || exit 1
echo "crash run: CRASH_RUNS=$CRASH_RUNS CRASH_SEED=$CRASH_SEED"
run_in_container "$WORK/base" "$WORK/c" "$WORK/crash.log" /harness/lib/crash_inside.sh; rc=$?
cat "$WORK/crash.log"
rm -rf "$WORK/c"
exit $rc
