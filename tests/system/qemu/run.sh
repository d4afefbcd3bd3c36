#!/usr/bin/env bash
# The QEMU tier: keyward on a real kernel. Boots a stock Debian 12 kernel under QEMU (TCG, no
# network device) with a busybox initramfs carrying keyward and a persistent ext4 disk image,
# twice:
#   boot 1 "first-boot"  the example host's first boot and three switches, driven by the
#                        activation snippets the NixOS module makes for the example host
#                        (snippets.nix): for-users secrets before users exist; the secrets with
#                        exact bytes, modes and owners (real ramfs, real chown to the VM's users);
#                        an unchanged switch is a no-op; rotated secrets make generation 2 and
#                        list exactly the right units; a corrupted sops file fails with exit 11
#                        and keeps generation 2;
#   boot 2 "reboot"      the same disk after a power-off: /run is fresh, everything is installed
#                        again (keyward install --numeric-ids for the for-users plan, then the
#                        current system's plan).
# The VM checks everything itself and prints PASS/FAIL lines on its serial console; this script
# counts them. The last line is "N passed, N failed"; the exit status is non-zero on failure.
#
# Needs qemu-system-x86_64, a static busybox, mkfs.ext4, jq, apt-get/dpkg-deb (for the kernel)
# and cargo; as root it installs the missing Debian packages itself. Without them and without
# root it skips (exit 0), unless CI=true. Nothing on the host is mounted, chowned or written
# outside a temporary directory and the kernel cache.
#
# Env: KEYWARD_QEMU_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/keyward-qemu: the kernel and
#      its few modules), KEYWARD_QEMU_BIN (a prebuilt keyward to use instead of building),
#      KEYWARD_QEMU_STATIC=1 (build a static keyward instead of using the release build),
#      KEYWARD_QEMU_TIMEOUT (seconds per boot, default 240), KEEP=1 (keep the work directory),
#      UPDATE_GOLDEN=1 (rewrite snippets.golden.json from snippets.nix).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo"
t0=$(date +%s)
say() { echo "[qemu +$(($(date +%s) - t0))s] $*"; }

# skip REASON: not runnable here. A skip outside CI; a failure in CI.
skip() {
  if [ "${CI:-}" = true ]; then
    echo "QEMU tier cannot run: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "SKIPPED: QEMU tier: $*"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
}

# ---------------------------------------------------------------- 1. tools
static_busybox() {
  local b
  b=$(command -v busybox) || return 1
  case "$(ldd "$b" 2>&1 || true)" in *"not a dynamic executable"* | *"statically linked"*) return 0 ;; esac
  return 1
}
missing() {
  local m=()
  command -v qemu-system-x86_64 >/dev/null || m+=(qemu-system-x86)
  static_busybox || m+=(busybox-static)
  command -v mkfs.ext4 >/dev/null || m+=(e2fsprogs)
  command -v jq >/dev/null || m+=(jq)
  echo "${m[@]}"
}
need=$(missing)
if [ -n "$need" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  say "apt-get install $need"
  apt-get update -qq >/dev/null 2>&1
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1
  need=$(missing)
fi
[ -z "$need" ] || skip "missing $need (install them, or run as root to have them installed)"
for t in apt-get apt-cache dpkg-deb; do command -v $t >/dev/null || skip "no $t to fetch the Debian kernel"; done
[ -n "${KEYWARD_QEMU_BIN:-}" ] || command -v cargo >/dev/null || skip "no cargo to build keyward"
BUSYBOX=$(command -v busybox)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/keyward-qemu.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then trap 'echo "work directory kept: $WORK"' EXIT; else trap 'rm -rf "$WORK"' EXIT; fi

# ---------------------------------------------------------------- 2. kernel (cached)
# The stock Debian 12 kernel: vmlinuz plus the 11 modules the persistent disk needs
# (virtio-pci, virtio-blk, ext4 and their dependencies); nothing else.
CACHE=${KEYWARD_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyward-qemu}
MODULES="virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk crc16 mbcache jbd2 crc32c_generic ext4"
KDIR=$(ls -d "$CACHE"/linux-image-*/ 2>/dev/null | grep -v "\.tmp/$" | sort -V | tail -1)
KDIR=${KDIR%/}
if [ -z "$KDIR" ] || [ ! -s "$KDIR/vmlinuz" ] || [ ! -s "$KDIR/modules/order" ]; then
  kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
  KPKG=$(kpkg)
  if [ -z "$KPKG" ] && [ "$(id -u)" -eq 0 ]; then apt-get update -qq >/dev/null 2>&1; KPKG=$(kpkg); fi
  [ -n "$KPKG" ] || skip "apt-cache knows no linux-image-amd64 (apt-get update as root)"
  say "kernel: apt-get download $KPKG (cached in $CACHE)"
  dl=$WORK/kdl
  mkdir -p "$dl" && chmod 777 "$dl" # apt's _apt user writes here
  (cd "$dl" && apt-get download -q "$KPKG" >/dev/null 2>&1) || skip "apt-get download $KPKG failed"
  KDIR=$CACHE/$KPKG
  rm -rf "$KDIR.tmp" && mkdir -p "$KDIR.tmp/modules"
  deb=$(ls "$dl"/*.deb)
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dl" --wildcards './boot/vmlinuz-*' './lib/modules/*.ko'
  cp "$dl"/boot/vmlinuz-* "$KDIR.tmp/vmlinuz"
  for m in $MODULES; do
    f=$(find "$dl/lib/modules" -name "$m.ko" | head -1)
    [ -n "$f" ] || skip "$KPKG has no $m.ko"
    cp "$f" "$KDIR.tmp/modules/"
  done
  # Load order: each module after the ones its .modinfo `depends=` names.
  order=()
  add() {
    local m=$1 d
    case " ${order[*]} " in *" $m "*) return ;; esac
    for d in $(grep -a -o 'depends=[a-z0-9_,-]*' "$KDIR.tmp/modules/$m.ko" | head -1 | cut -d= -f2 | tr ',' ' '); do
      [ -e "$KDIR.tmp/modules/$d.ko" ] || skip "$m.ko needs $d.ko, which is not in the list"
      add "$d"
    done
    order+=("$m")
  }
  for m in $MODULES; do add "$m"; done
  printf '%s\n' "${order[@]}" >"$KDIR.tmp/modules/order"
  rm -rf "$dl" "$KDIR" && mv "$KDIR.tmp" "$KDIR"
fi
say "kernel: $KDIR/vmlinuz"

# ---------------------------------------------------------------- 3. keyward for the VM
# By default the ordinary release build (what `.ci/run` has already built, so this costs nothing
# there), shipped with the libraries ldd names. KEYWARD_QEMU_STATIC=1 builds a static one
# (+crt-static; a separate full compile, minutes on 2 cores).
tdir=${CARGO_TARGET_DIR:-$repo/target}
if [ -n "${KEYWARD_QEMU_BIN:-}" ]; then
  KW=$KEYWARD_QEMU_BIN
elif [ "${KEYWARD_QEMU_STATIC:-0}" = 1 ]; then
  say "building keyward (static: +crt-static, x86_64-unknown-linux-gnu)"
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build -q --release --locked --target x86_64-unknown-linux-gnu --bin keyward || skip "static cargo build failed"
  KW=$tdir/x86_64-unknown-linux-gnu/release/keyward
else
  say "building keyward (cargo build --release; a no-op when it is current)"
  cargo build -q --release --locked --bin keyward || skip "cargo build failed"
  KW=$tdir/release/keyward
fi
[ -x "$KW" ] || skip "no keyward binary at $KW"

# ---------------------------------------------------------------- 4. the initramfs
R=$WORK/rootfs
mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,run,tmp,root,lib/modules,scenario/snippets}
cp "$BUSYBOX" "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
install -m 0755 "$KW" "$R/bin/keyward"
# A dynamic binary brings the libraries it names (a static one names none).
ldd "$KW" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
  [ -e "$lib" ] && cp -L --parents "$lib" "$R/"
done
cp "$KDIR"/modules/*.ko "$KDIR/modules/order" "$R/lib/modules/"
install -m 0755 "$here/init" "$R/init"
cp "$here"/scenarios/*.sh "$here"/scenarios/*.tsv "$R/scenario/"
cp -r "$here/fixtures/expected" "$R/scenario/expected"

# The module's activation snippets for the example host: evaluated from modules/lib/plan.nix
# when nix-instantiate is here (and compared with the checked-in golden), else the golden.
golden=$here/snippets.golden.json
snippets=$golden
host_pass=0 host_fail=0 host_skip=0 host_notes=()
if command -v nix-instantiate >/dev/null; then
  off() { if unshare -n true 2>/dev/null; then unshare -n -- "$@"; else "$@"; fi; }
  if NIX_PATH= NIX_CONFIG="substituters =" off nix-instantiate --eval --strict --json "$here/snippets.nix" \
    2>"$WORK/nix.err" | jq -S . >"$WORK/snippets.json" && [ -s "$WORK/snippets.json" ]; then
    snippets=$WORK/snippets.json
    if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
      cp "$WORK/snippets.json" "$golden"
      host_notes+=("PASS: [host] snippets.golden.json rewritten from snippets.nix")
      host_pass=$((host_pass + 1))
    elif jq -e --slurpfile g "$golden" '. == $g[0]' "$WORK/snippets.json" >/dev/null; then
      host_notes+=("PASS: [host] the snippets evaluated from modules/lib/plan.nix equal snippets.golden.json")
      host_pass=$((host_pass + 1))
    else
      host_notes+=("FAIL: [host] the snippets evaluated from modules/lib/plan.nix differ from snippets.golden.json (UPDATE_GOLDEN=1 rewrites it)")
      host_fail=$((host_fail + 1))
    fi
  else
    host_notes+=("FAIL: [host] snippets.nix does not evaluate: $(head -3 "$WORK/nix.err" | tr '\n' ' ')")
    host_fail=$((host_fail + 1))
  fi
else
  host_notes+=("SKIPPED: [host] snippets.golden.json is current (no nix-instantiate: the VM runs the checked-in snippets)")
  host_skip=1
fi
for k in $(jq -r 'keys[]' "$snippets"); do
  jq -r --arg k "$k" '.[$k]' "$snippets" >"$R/scenario/snippets/$k.sh"
done

(cd "$R" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1) >"$WORK/initramfs.gz"
libs=$(ldd "$KW" 2>/dev/null | awk '/=>/{print $1}' | tr '\n' ' ')
say "initramfs: $(stat -c %s "$WORK/initramfs.gz") bytes; keyward: ${libs:+dynamic, with }${libs:-static}"

# ---------------------------------------------------------------- 5. the persistent disk
# What a real machine keeps across reboots: the store (sops files, plans), the age key, the
# system profile. The plans are the example host's checked-in plans (hosts/example/plan*.json)
# with the sops files at store paths and the host's real key path (hosts/example/sops.nix).
D=$WORK/disk
store=$D/nix/store
mkdir -p "$store" "$D/var/lib/sops-nix" "$D/var/lib/keyward-qemu"
install -m 0600 hosts/example/test-age-key.txt "$D/var/lib/sops-nix/key.txt"
echo 1 >"$D/var/lib/keyward-qemu/system"
tostore() { # tostore FILE NAME: copy into the store under a content-hash name; print its path
  local h
  h=$(sha256sum "$1" | cut -c1-32)
  install -m 0444 "$1" "$store/$h-$2"
  echo "/nix/store/$h-$2"
}
# One changed ciphertext character (the first value under postgres:): an integrity failure.
awk '!done && /password: ENC\[AES256_GCM,data:/ { i = index($0, "data:") + 5; c = substr($0, i, 1);
  $0 = substr($0, 1, i - 1) (c == "A" ? "B" : "A") substr($0, i + 1); done = 1 } { print }' \
  "$here/fixtures/example-v2.yaml" >"$WORK/example-v2-corrupt.yaml"
cmp -s "$WORK/example-v2-corrupt.yaml" "$here/fixtures/example-v2.yaml" && skip "could not corrupt example-v2.yaml"
y1=$(tostore secrets/example.yaml example.yaml)
y2=$(tostore "$here/fixtures/example-v2.yaml" example-v2.yaml)
y3=$(tostore "$WORK/example-v2-corrupt.yaml" example-v2-corrupt.yaml)
env1=$(tostore secrets/app.env app.env)
P=/nix/store/0000000000000000000000000000000 # + N: the 32-character hash of system N's plans (snippets.nix)
plan() { # plan SRC YAML OUT
  jq --arg y "$2" --arg e "$env1" --arg h "$(sha256sum "$D$2" | cut -d' ' -f1)" '
    .ageKeyFile = "/var/lib/sops-nix/key.txt"
    | .secrets |= map(if .sopsFile == "secrets/example.yaml" then .sopsFile = $y | .sopsFileHash = $h
                      elif .sopsFile == "secrets/app.env" then .sopsFile = $e else . end)' "$1" >"$D$3"
  chmod 0444 "$D$3"
}
plan hosts/example/plan-for-users.json "$y1" "${P}1-keyward-plan-for-users.json"
plan hosts/example/plan.json "$y1" "${P}1-keyward-plan.json"
plan hosts/example/plan.json "$y2" "${P}2-keyward-plan.json"
plan hosts/example/plan.json "$y3" "${P}3-keyward-plan.json"
# The plans must be ones keyward accepts (the build-time check the module runs).
if grep -q '"sopsFile": "secrets/' "$D${P}1-keyward-plan.json"; then
  host_notes+=("FAIL: [host] the plans still name repository paths")
  host_fail=$((host_fail + 1))
fi
mkfs.ext4 -q -F -L keyward-qemu -d "$D" "$WORK/disk.img" 32M >/dev/null ||
  skip "mkfs.ext4 -d failed (e2fsprogs >= 1.43 needed)"

# ---------------------------------------------------------------- 6. boots
TIMEOUT=${KEYWARD_QEMU_TIMEOUT:-240}
boot() { # boot NAME: boot the VM with keyward.boot=NAME; the serial log is $WORK/serial-NAME.log
  local name=$1 s rc=0
  s=$(date +%s)
  timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 256 -smp 1 \
    -kernel "$KDIR/vmlinuz" -initrd "$WORK/initramfs.gz" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3 keyward.boot=$name" \
    -drive "file=$WORK/disk.img,format=raw,if=virtio" \
    -nic none -display none -monitor none -serial "file:$WORK/serial-$name.log" -no-reboot \
    </dev/null >"$WORK/qemu-$name.out" 2>&1 || rc=$?
  say "boot $name: qemu exit $rc after $(($(date +%s) - s))s"
  [ "$rc" -eq 0 ] || sed 's/^/  qemu: /' "$WORK/qemu-$name.out" | head -5
}
pass=$host_pass fail=$host_fail
for n in "${host_notes[@]}"; do echo "$n"; done
for name in first-boot reboot; do
  boot "$name"
  log=$WORK/serial-$name.log
  tr -d '\r' <"$log" >"$log.txt" 2>/dev/null || : >"$log.txt"
  echo "----- serial console: $name"
  cat "$log.txt"
  echo "----- end of $name"
  p=$(grep -c '^PASS: ' "$log.txt")
  f=$(grep -c '^FAIL: ' "$log.txt")
  if ! grep -q "^=== KEYWARD-QEMU END boot=$name" "$log.txt"; then
    echo "FAIL: [$name] the VM did not reach the end of its scenario (panic, hang or ${TIMEOUT}s timeout)"
    f=$((f + 1))
  fi
  if [ "$p" -eq 0 ]; then
    echo "FAIL: [$name] no check ran"
    f=$((f + 1))
  fi
  pass=$((pass + p))
  fail=$((fail + f))
done

say "2 boots, ${pass} checks passed, ${fail} failed, $(($(date +%s) - t0))s in all"
if [ "$fail" -gt 0 ]; then
  grep -h '^FAIL: ' "$WORK"/serial-*.log.txt 2>/dev/null | sed 's/^/  /'
fi
if [ "$host_skip" -gt 0 ]; then
  echo "$pass passed, $fail failed, $host_skip skipped"
else
  echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
