#!/usr/bin/env bash
# Make (or reuse) the benchmark's fixtures with the real sops and age.
# Usage: bash bench/fixtures.sh CACHE_DIR POOL_FILES KEYS_PER_FILE AGE_FILES W2_KEYS
#
#   CACHE_DIR/key.txt                    the one age identity (TEST MATERIAL, made here)
#   CACHE_DIR/pool-k<K>/enc/NNNN.yaml    POOL_FILES distinct sops YAML files, K secrets each
#                                        (W1 uses the first 100, W3 the first 1,000)
#   CACHE_DIR/pool-k<K>/plain/NNNN.yaml  their plaintext (to check what was installed)
#   CACHE_DIR/age-k<K>/NNNN-sJ.age       the same secrets of the first AGE_FILES pool files,
#                                        one `age -r` file per secret (the agenix-style loop)
#   CACHE_DIR/w2-<N>/w2.yaml             one sops file with W2_KEYS secrets (W2)
#
# Every sops file is a real, distinct `sops encrypt` output (own data key, IVs, MAC). Files are
# made in parallel (xargs -P) and only when missing, so a bigger run extends a smaller one's
# cache and an unchanged run makes nothing. The cache key is the directory names above plus
# GEN_VERSION below (bump it when the generated content changes).
set -euo pipefail
GEN_VERSION=1
CACHE=$1 POOL=$2 K=$3 AGEN=$4 W2K=$5
SOPS=${SOPS:-/root/go/bin/sops}
JOBS=${BENCH_GEN_JOBS:-$(( $(nproc) * 2 ))}
export SOPS_DISABLE_VERSION_CHECK=1

for b in "$SOPS" age age-keygen python3 xargs; do
  command -v "$b" >/dev/null || { echo "bench: missing tool: $b" >&2; exit 1; }
done
mkdir -p "$CACHE"
if [ "$(cat "$CACHE/.gen-version" 2>/dev/null)" != "$GEN_VERSION" ]; then
  rm -rf "${CACHE:?}"/* && echo "$GEN_VERSION" > "$CACHE/.gen-version"
fi
[ -s "$CACHE/key.txt" ] || age-keygen -o "$CACHE/key.txt" 2>/dev/null
RECIPIENT=$(grep '^# public key: ' "$CACHE/key.txt" | cut -d' ' -f4)
export SOPS RECIPIENT K
# sops must see no .sops.yaml and none of the caller's keys.
export HOME="$CACHE/home"; mkdir -p "$HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_RECIPIENTS SOPS_CONFIG XDG_CONFIG_HOME 2>/dev/null || true

P="$CACHE/pool-k$K"; A="$CACHE/age-k$K"; W2="$CACHE/w2-$W2K"
mkdir -p "$P/plain" "$P/enc" "$A" "$W2"

# Plaintexts: deterministic (seeded by index), values of 24 to 64 printable characters.
python3 - "$P/plain" "$POOL" "$K" "$W2/plain.yaml" "$W2K" <<'PY'
import os, random, string, sys
d, n, k, w2, w2k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
alphabet = string.ascii_letters + string.digits + "+/_-"
def val(r): return "".join(r.choice(alphabet) for _ in range(r.randint(24, 64)))
for i in range(n):
    p = os.path.join(d, "%04d.yaml" % i)
    if os.path.exists(p): continue
    r = random.Random(i)
    with open(p + ".tmp", "w") as f:
        for j in range(k): f.write("s%d: %s\n" % (j, val(r)))
    os.rename(p + ".tmp", p)
if not os.path.exists(w2):
    r = random.Random("w2")
    with open(w2 + ".tmp", "w") as f:
        for j in range(w2k): f.write("s%d: %s\n" % (j, val(r)))
    os.rename(w2 + ".tmp", w2)
PY

# sops files, missing ones only, in parallel. Run from the cache dir: no .sops.yaml up there
# that could add creation rules (the cache lives under bench/work, below the repo's .sops.yaml,
# so --config points at an empty one).
: > "$CACHE/empty.sops.yaml"
export CACHE P A
enc_one() { # plain enc
  (cd "$CACHE" && "$SOPS" --config "$CACHE/empty.sops.yaml" encrypt --age "$RECIPIENT" \
     --input-type yaml --output-type yaml "$1" > "$2.tmp") && mv "$2.tmp" "$2"
}
export -f enc_one
for ((i = 0; i < POOL; i++)); do
  n=$(printf %04d "$i")
  [ -s "$P/enc/$n.yaml" ] || echo "$n"
done > "$CACHE/.todo"
if [ -s "$CACHE/.todo" ]; then
  echo "bench: encrypting $(wc -l < "$CACHE/.todo") sops files with $SOPS ($JOBS at a time)" >&2
  xargs -P "$JOBS" -n 16 bash -c 'for n; do enc_one "$P/plain/$n.yaml" "$P/enc/$n.yaml"; done' _ \
    < "$CACHE/.todo"
fi
[ -s "$W2/w2.yaml" ] || { echo "bench: encrypting the W2 file ($W2K keys)" >&2; enc_one "$W2/plain.yaml" "$W2/w2.yaml"; }

# age files for the agenix-style loop: the same secret values as the first AGEN pool files.
age_file() { # NNNN: one .age file per secret of pool file NNNN
  local n=$1 line key val
  while IFS= read -r line; do
    key=${line%%: *}; val=${line#*: }
    [ -s "$A/$n-$key.age" ] && continue
    printf '%s' "$val" | age -r "$RECIPIENT" -o "$A/$n-$key.age.tmp" && mv "$A/$n-$key.age.tmp" "$A/$n-$key.age"
  done < "$P/plain/$n.yaml"
}
export -f age_file
have=$(find "$A" -name '*.age' | wc -l)
if [ "$have" -lt $((AGEN * K)) ]; then
  echo "bench: encrypting $((AGEN * K)) age files with age -r" >&2
  for ((i = 0; i < AGEN; i++)); do printf '%04d\n' "$i"; done |
    xargs -P "$JOBS" -n 8 bash -c 'for n; do age_file "$n"; done' _
fi
echo "bench: fixtures ready in $CACHE" >&2
