# Sourced by run.sh and crash.sh (on the host, before entering a container): builds the base
# root filesystem every container starts from, and the function that runs a script in a fresh
# container. Nothing here touches the host's users, mounts or /run: the only writes are below
# $WORK, and every mount happens inside a private mount namespace (unshare --mount) that dies
# with the container.

KEYWARD_REPO=${KEYWARD_REPO:-$(cd "$HERE/../../.." && pwd)}
KEYWARD_BIN=${KEYWARD_BIN:-$KEYWARD_REPO/target/release/keyward}

# Can this machine run containers at all? Sets SKIP_REASON when not.
container_preflight() {
  SKIP_REASON=
  if [ "$(id -u)" -ne 0 ]; then SKIP_REASON="not root (the container tier mounts ramfs and chowns files)"; return 1; fi
  if ! command -v unshare >/dev/null || ! command -v chroot >/dev/null; then
    SKIP_REASON="unshare or chroot is missing (util-linux, coreutils)"; return 1
  fi
  if ! unshare --mount --pid --net --fork --propagation private true 2>/dev/null; then
    SKIP_REASON="unshare --mount --pid --net --fork is not permitted here"; return 1
  fi
  if [ ! -x "$KEYWARD_BIN" ]; then
    SKIP_REASON="no keyward binary at $KEYWARD_BIN (cargo build --release, or set KEYWARD_BIN)"; return 1
  fi
  return 0
}

# Copy a program and the libraries ldd names into the root, keeping their paths.
_copy_prog() { # ROOT PROGRAM [NAME]
  local r=$1 p name=${3:-$(basename "$2")}
  p=$(command -v "$2") || { echo "container: missing tool $2" >&2; return 1; }
  p=$(readlink -f "$p")
  install -m 0755 "$p" "$r/bin/$name"
  ldd "$p" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
    [ -e "$lib" ] && [ ! -e "$r$lib" ] && cp -L --parents "$lib" "$r/"
  done
  return 0
}

# Build the base root once: tools, libraries, keyward, the harness and the inputs (sops files
# and test keys only: no plaintext, so a grep for plaintext outside the mount is meaningful).
build_base_rootfs() { # DIR
  local r=$1 t
  rm -rf "$r"; mkdir -p "$r"/{bin,etc,proc,run,dev,tmp,root,var/lib,src,harness}
  chmod 1777 "$r/tmp"
  for t in bash cat ls stat readlink find sort sha256sum grep sed mkdir rm rmdir ln chmod chown \
           touch mv cp wc head tail tr cut env id sleep mknod diff xargs mount umount seq \
           date uniq comm dd realpath basename dirname timeout flock truncate od \
           mountpoint tee; do
    _copy_prog "$r" "$t" || return 1
  done
  ln -s bash "$r/bin/sh"
  ln -s bin "$r/sbin"
  mkdir -p "$r/usr"; ln -s ../bin "$r/usr/bin"
  install -m 0755 "$KEYWARD_BIN" "$r/bin/keyward"
  _copy_prog "$r" "$KEYWARD_BIN" keyward
  # inputs: the example host, its sops files, and the fixture corpus without the .decrypted
  # files and without the inputs that hold plaintext by design (selection/ leaves values
  # unencrypted, not-sops.yaml is plain YAML): the plaintext search covers /src too. The
  # expected values the scenarios need live in /harness.
  cp -r "$KEYWARD_REPO/secrets" "$r/src/secrets"
  mkdir -p "$r/src/hosts"; cp -r "$KEYWARD_REPO/hosts/example" "$r/src/hosts/example"
  mkdir -p "$r/src/fixtures"
  cp -r "$KEYWARD_REPO/tests/fixtures/keys" "$r/src/fixtures/keys"
  (cd "$KEYWARD_REPO/tests/fixtures" && find corpus -type f ! -name '*.decrypted' ! -name manifest.json \
      ! -path 'corpus/selection/*' ! -name 'not-sops.yaml' \
      -exec cp --parents {} "$r/src/fixtures/" \;)
  # the harness and the expected plaintexts (excluded from the plaintext search)
  cp -r "$HERE/lib" "$HERE/scenarios" "$r/harness/"
  mkdir -p "$r/harness/expect"
  (cd "$KEYWARD_REPO/tests/fixtures" && find corpus -name '*.decrypted' -exec cp --parents {} "$r/harness/expect/" \;)
}

# Run a script in a fresh container: a copy of the base root, `unshare --mount --pid --net
# --fork` (a private mount, PID and network namespace), /proc of the new PID namespace, and
# chroot. lib/enter.sh (inside) mounts a tmpfs /run and a minimal /dev, then runs the script.
# stdout+stderr go to LOG. Returns the script's status.
run_in_container() { # BASE DIR LOG SCRIPT [ARGS...]
  local base=$1 dir=$2 log=$3; shift 3
  rm -rf "$dir"; cp -a "$base" "$dir"
  unshare --mount --pid --net --fork --propagation private --mount-proc="$dir/proc" \
    chroot "$dir" /bin/env -i PATH=/bin HOME=/root CRASH_RUNS="${CRASH_RUNS:-}" \
    CRASH_SEED="${CRASH_SEED:-}" /bin/bash /harness/lib/enter.sh "$@" >"$log" 2>&1
}
