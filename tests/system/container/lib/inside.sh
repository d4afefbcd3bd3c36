# Assertions for scenarios; sourced inside the container (chroot, PID 1 = lib/enter.sh).
# Every check prints `ok: …` or `NOT OK: …`; `finish` exits 1 if any check failed.
CHECKS=0 FAILED=0

ok()  { CHECKS=$((CHECKS + 1)); echo "ok: $*"; }
bad() { CHECKS=$((CHECKS + 1)); FAILED=$((FAILED + 1)); echo "NOT OK: $*"; }
say() { echo "--- $*"; }
finish() {
  echo "=== $CHECKS checks, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}

# check_eq WHAT GOT WANT
check_eq() {
  if [ "$2" == "$3" ]; then ok "$1"; return; fi
  bad "$1"
  case "$2$3" in
    *$'\n'*) diff <(printf '%s\n' "$3") <(printf '%s\n' "$2") | head -40 | sed 's/^/  (want<, got>) /' ;;
    *) printf '  got:  %q\n  want: %q\n' "$2" "$3" ;;
  esac
}

# kw ARGS...: `keyward install ARGS` with a clean environment plus KW_ENV (an array of
# VAR=value); sets OUT, ERR, RC. stdout/stderr carry no plaintext, so /tmp is fine for them.
KW_ENV=()
kw() {
  env -i PATH=/bin "${KW_ENV[@]}" keyward install "$@" >/tmp/kw.out 2>/tmp/kw.err
  RC=$?
  OUT=$(cat /tmp/kw.out); ERR=$(cat /tmp/kw.err)
  echo "\$ keyward install $* -> $RC"
  [ -z "$ERR" ] || sed 's/^/  stderr| /' /tmp/kw.err
  [ -z "$OUT" ] || sed 's/^/  stdout| /' /tmp/kw.out
}

expect_rc() {
  if [ "$RC" == "$1" ]; then ok "exit status $1"; else bad "exit status $RC, want $1"; fi
}
# expect_err_line LINE: stderr has exactly this line
expect_err_line() {
  if grep -qxF -- "$1" /tmp/kw.err; then ok "stderr line: $1"; else bad "stderr has no line: $1"; fi
}
expect_err_has() {
  if grep -qF -- "$1" /tmp/kw.err; then ok "stderr has: $1"; else bad "stderr lacks: $1"; fi
}
expect_out_line() {
  if grep -qxF -- "$1" /tmp/kw.out; then ok "stdout line: $1"; else bad "stdout has no line: $1"; fi
}
expect_err_lacks() {
  if grep -qF -- "$1" /tmp/kw.err; then bad "stderr has: $1"; else ok "stderr lacks: $1"; fi
}
# the change lines (adding/modifying/removing …, would …), in order
change_lines() { grep -E '^(adding|modifying|removing) |^would (add|modify|remove) ' /tmp/kw.out || true; }
expect_changes() { # EXPECTED (newline-separated, possibly empty)
  check_eq "change lines" "$(change_lines)" "$1"
}

# expect_file PATH "MODE UID GID" CONTENT: a regular file (not a link) with exact bytes
expect_file() {
  local p=$1 meta=$2 want=$3
  if [ -L "$p" ] || [ ! -f "$p" ]; then bad "$p is not a regular file"; return; fi
  check_eq "$p mode/uid/gid" "$(stat -c '%a %u %g' "$p")" "$meta"
  check_eq "$p bytes" "$(sha256sum <"$p" | cut -d' ' -f1)" "$(printf '%s' "$want" | sha256sum | cut -d' ' -f1)"
}
# expect_file_from PATH "MODE UID GID" EXPECTED_FILE: exact bytes equal to a file's
expect_file_from() {
  local p=$1 meta=$2 want=$3
  if [ -L "$p" ] || [ ! -f "$p" ]; then bad "$p is not a regular file"; return; fi
  check_eq "$p mode/uid/gid" "$(stat -c '%a %u %g' "$p")" "$meta"
  check_eq "$p bytes (= $want)" "$(sha256sum <"$p" | cut -d' ' -f1)" "$(sha256sum <"$want" | cut -d' ' -f1)"
}
expect_dir() { # PATH "MODE UID GID"
  if [ -L "$1" ] || [ ! -d "$1" ]; then bad "$1 is not a directory"; return; fi
  check_eq "$1 dir mode/uid/gid" "$(stat -c '%a %u %g' "$1")" "$2"
}
expect_link() { # PATH TARGET
  if [ ! -L "$1" ]; then bad "$1 is not a symlink"; return; fi
  check_eq "$1 -> target" "$(readlink "$1")" "$2"
}
expect_absent() {
  if [ -e "$1" ] || [ -L "$1" ]; then bad "$1 exists"; else ok "$1 absent"; fi
}
expect_present() {
  if [ -e "$1" ] || [ -L "$1" ]; then ok "$1 present"; else bad "$1 absent"; fi
}
# the generations present under a mount point, sorted numerically, space separated
generations() { (cd "${1:-/run/secrets.d}" && ls -d -- * 2>/dev/null | sort -n | tr '\n' ' ' | sed 's/ $//'); }

# snapshot DIR...: every entry with type, mode, owner, inode, mtime, link target, and the
# sha256 of every regular file: the whole state, to compare before and after.
snapshot() {
  find "$@" -xdev \( -path /proc -o -path /dev -o -path /tmp/kw.out -o -path /tmp/kw.err \) -prune -o \
    -printf '%y %m %U %G %i %T@ %p -> %l\n' | sort
  find "$@" -xdev \( -path /proc -o -path /dev -o -path /tmp \) -prune -o -type f -print0 \
    | xargs -0 -r sha256sum | sort -k2
}

# no_plaintext_outside "MOUNT..." VALUE...: grep the container's whole filesystem outside the
# given mounts (and /proc, /dev, the harness's own expectations) for each value; a positive
# control first shows the search finds a value that is there.
no_plaintext_outside() {
  local mounts=$1; shift
  local ex=(--exclude-dir=proc --exclude-dir=dev --exclude-dir=harness) m v hits
  find_hits() {
    local args=() v
    for v in "$@"; do args+=(-e "$v"); done
    local dirs=() m
    for m in /*; do case $m in /proc|/dev|/harness|/sys) ;; *) dirs+=("$m") ;; esac; done
    grep -rlF "${args[@]}" "${dirs[@]}" 2>/dev/null | while read -r f; do
      local skip=0
      for m in $mounts; do case $f in "$m"/*) skip=1 ;; esac; done
      [ $skip = 1 ] || echo "$f"
    done
  }
  printf '%s' "$1" > /tmp/positive-control
  hits=$(find_hits "$1")
  rm -f /tmp/positive-control
  case $hits in *"/tmp/positive-control"*) ok "plaintext search: positive control found" ;;
    *) bad "plaintext search: positive control not found" ;; esac
  hits=$(find_hits "$@")
  if [ -z "$hits" ]; then ok "no plaintext outside $mounts ($# values)"; else bad "plaintext outside the mount: $hits"; fi
}
