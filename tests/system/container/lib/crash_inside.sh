# The crash-safety run, inside one container (sourced by lib/enter.sh; see crash.sh).
# Plans A and B: the example host's plan (real sops files, owners by name, a template, a
# `path` link) and a changed one (another key's bytes, the template's text, a mode). Three
# phases: first installs (nothing installed, A), changes (A <-> B, keepGenerations 0) and
# prunes (A <-> B, keepGenerations 1: every switch removes the older generation).
# Each run: start `keyward install`, kill it (a KEYWARD_FAULT_AT step, or SIGKILL after a
# random delay), then assert that /run/secrets is absent (first install only) or points at a
# generation equal to the complete old tree or the complete new tree (names, types, modes,
# owners, bytes), that no plaintext exists outside the mount, and that the next run converges.
RUNS=${CRASH_RUNS:-200}
RANDOM=${CRASH_SEED:-$$}
cat >> /etc/passwd <<'P'
alice:x:1000:100::/:/bin/sh
P
printf 'users:x:100:\n' >> /etc/group
mkdir -p /run/nixos
P=hosts/example/plan.json
sed 's/"keepGenerations": 1/"keepGenerations": 0/' $P > /tmp/A0.json
sed 's|"key": "postgres/password"|"key": "grafana/admin-password"|; s/GF_SMTP_ENABLED=true/GF_SMTP_ENABLED=false/; s/"mode": "0600"/"mode": "0400"/' /tmp/A0.json > /tmp/B0.json
cp $P /tmp/A1.json
sed 's/"keepGenerations": 0/"keepGenerations": 1/' /tmp/B0.json > /tmp/B1.json
VALUES=(correct-horse-battery-staple grafana-admin-test-password smtp-test-password alerts@example.org
        tok-test-1234 'cDKRsIKsOugPkmu3Xux4mvdP36qItiEPgjTyQ9n6kRblUZAQHkADjciKMV9' 'AAAEC96AhVpaUBiMdWimV2JC')

# the tree of one generation: every entry (not .keyward.json's bytes, which name the inputs)
sig() { (cd "$1" 2>/dev/null && find . -mindepth 1 -printf '%y %m %U %G %p\n' | sort \
          && find . -type f ! -name .keyward.json -print0 | sort -z | xargs -0 -r sha256sum) || echo "(missing $1)"; }
current_sig() { local t; t=$(readlink /run/secrets) || { echo "(no link)"; return; }; sig "$t"; }
reset() { # nothing installed: no mount, no link, no path link
  umount /run/secrets.d 2>/dev/null; rm -rf /run/secrets.d /run/secrets /etc/ssh /run/nixos/*; GOOD=(); }
declare -A GOOD   # generations already checked complete
converge() { # PLAN WANT-SIG: a clean run reaches the new state
  keyward install "$1" >/dev/null 2>/tmp/conv.err; local rc=$?
  local s; s=$(current_sig)
  if [ $rc != 0 ] || [ "$s" != "$2" ] || [ "$(readlink /etc/ssh/ssh_host_ed25519_key)" != /run/secrets/ssh_host_ed25519_key ]; then
    NOCONV=$((NOCONV + 1)); echo "NOT CONVERGED ($what): exit $rc"; cat /tmp/conv.err; return 1
  fi
  # no half-written generation survives the clean run: every numbered entry is complete
  local g
  for g in /run/secrets.d/*; do
    local k; k="$g:$(stat -c %i "$g")"
    [ -n "${GOOD[$k]:-}" ] && continue   # this very directory was checked complete before
    case "$(sig "$g")" in "$SIG_A"|"$SIG_B") GOOD[$k]=1 ;; *) LEFTOVER=$((LEFTOVER + 1)); echo "LEFTOVER ($what): $g";; esac
  done
}
plaintext_outside() {
  local args=() v d dirs=()
  for v in "${VALUES[@]}"; do args+=(-e "$v"); done
  for d in /*; do case $d in /proc|/dev|/harness|/run) ;; *) dirs+=("$d") ;; esac; done
  for d in /run/*; do [ -L "$d" ] || [ "$d" = /run/secrets.d ] || dirs+=("$d"); done   # not the link into the mount
  grep -rlF "${args[@]}" "${dirs[@]}" 2>/dev/null
}
exec 9<> <(:)   # `read -t DELAY -u 9` is the sub-millisecond sleep (no fork, nothing to read)

# expected trees
reset; keyward install /tmp/B1.json >/dev/null 2>&1 || { echo "cannot install B"; exit 1; }; SIG_B=$(current_sig)
reset; keyward install /tmp/A1.json >/dev/null 2>&1 || { echo "cannot install A"; exit 1; }; SIG_A=$(current_sig)
[ "$SIG_A" != "$SIG_B" ] && [ -n "$SIG_A" ] || { echo "A and B must differ"; exit 1; }
echo "tree A: $(echo "$SIG_A" | grep -c '^[fdl] ') entries; tree B: $(echo "$SIG_B" | grep -c '^[fdl] ') entries"
# positive control for the plaintext search
echo "${VALUES[0]}" > /tmp/control; [ -n "$(plaintext_outside)" ] || { echo "plaintext search finds nothing"; exit 1; }; rm /tmp/control
# calibrate: how long an install that changes something takes (the random kill window)
s=${EPOCHREALTIME/./}
for i in 1 2 3 4; do keyward install /tmp/B1.json >/dev/null 2>&1; keyward install /tmp/A1.json >/dev/null 2>&1; done
T=$(( (${EPOCHREALTIME/./} - s) / 8 ))   # microseconds
echo "an install takes ~${T}us (with fork and exec); random kills fall in [0, ${T}]us"

SAW_OLD=0 SAW_NEW=0 TOTAL=0 TORN=0 PLAIN=0 NOCONV=0 LEFTOVER=0 FINISHED=0 KILLED=0
declare -A PER
one() { # PHASE OLD-PLAN NEW-PLAN MODE(fault step | random)
  local phase=$1 old=$2 new=$3 mode=$4 old_sig new_sig pid rc s
  what="$phase $mode $(basename $new)"
  if [ "$phase" = first ]; then reset; old_sig="(no link)"; else
    [ "$(current_sig)" = "$(sig_of "$old")" ] || converge "$old" "$(sig_of "$old")" >/dev/null; old_sig=$(sig_of "$old"); fi
  new_sig=$(sig_of "$new")
  if [ "$mode" = random ]; then
    keyward install "$new" >/dev/null 2>&1 & pid=$!
    local d=$(( (RANDOM * 32768 + RANDOM) % (T + 1) ))
    read -t "$(printf '%d.%06d' $((d / 1000000)) $((d % 1000000)))" -u 9
    { kill -9 $pid; wait $pid; } 2>/dev/null; rc=$?
  else
    KEYWARD_FAULT_AT=$mode keyward install "$new" >/dev/null 2>&1; rc=$?
    [ $rc = 137 ] || { TORN=$((TORN + 1)); echo "TORN? ($what): fault step did not kill (exit $rc)"; }
  fi
  [ $rc = 137 ] && KILLED=$((KILLED + 1)) || FINISHED=$((FINISHED + 1))
  TOTAL=$((TOTAL + 1)); [ "$mode" != random ] || PER[$phase]=$(( ${PER[$phase]:-0} + 1 ))
  s=$(current_sig)
  if [ "$s" = "$old_sig" ]; then state=old; SAW_OLD=$((SAW_OLD + 1)); elif [ "$s" = "$new_sig" ]; then state=new; SAW_NEW=$((SAW_NEW + 1)); else
    TORN=$((TORN + 1)); state=TORN; echo "TORN ($what, exit $rc): /run/secrets -> $(readlink /run/secrets)"; diff <(echo "$new_sig") <(echo "$s") | head -20
  fi
  if [ "$mode" != random ]; then   # a fault step is before or after the switch: exactly one answer
    case $mode in switched|linked|pruned|reported) want=new ;; *) want=old ;; esac
    [ $state = $want ] || { TORN=$((TORN + 1)); echo "WRONG SIDE ($what): $state, want $want"; }
  fi
  local hits; hits=$(plaintext_outside)
  [ -z "$hits" ] || { PLAIN=$((PLAIN + 1)); echo "PLAINTEXT OUTSIDE THE MOUNT ($what): $hits"; }
  converge "$new" "$new_sig"
}
sig_of() { case $1 in /tmp/A*) echo "$SIG_A" ;; *) echo "$SIG_B" ;; esac; }

STEPS="plan-loaded locked identities-loaded decrypted staging staged switched linked pruned reported"
for st in $STEPS; do one first "" /tmp/A1.json $st; done
for st in $STEPS; do one change /tmp/A0.json /tmp/B0.json $st; one change /tmp/B0.json /tmp/A0.json $st; done
for st in $STEPS; do one prune /tmp/A1.json /tmp/B1.json $st; done
FAULT_RUNS=$TOTAL
echo "fault steps: $FAULT_RUNS runs ($STEPS)"
n=0
while [ $n -lt "$RUNS" ]; do
  case $((n % 3)) in
    0) one first "" /tmp/A1.json random ;;
    1) if [ $((n / 3 % 2)) = 0 ]; then one change /tmp/A0.json /tmp/B0.json random; else one change /tmp/B0.json /tmp/A0.json random; fi ;;
    2) if [ $((n / 3 % 2)) = 0 ]; then one prune /tmp/A1.json /tmp/B1.json random; else one prune /tmp/B1.json /tmp/A1.json random; fi ;;
  esac
  n=$((n + 1))
done
echo "runs: $TOTAL ($FAULT_RUNS at fault steps, $RUNS random kills: first installs ${PER[first]:-0}, changes ${PER[change]:-0}, prunes ${PER[prune]:-0}; $KILLED killed, $FINISHED finished before the kill; left the old tree $SAW_OLD times, the new $SAW_NEW)"
echo "crash: runs=$TOTAL torn=$TORN plaintext_outside=$PLAIN not_converged=$NOCONV leftovers=$LEFTOVER"
[ $TORN = 0 ] && [ $PLAIN = 0 ] && [ $NOCONV = 0 ] && [ $LEFTOVER = 0 ] && ok "crash safety" || bad "crash safety"
