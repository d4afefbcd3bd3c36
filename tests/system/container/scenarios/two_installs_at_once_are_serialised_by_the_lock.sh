# Invariant 8: two installs started together both succeed (exit 0), one after the other
# behind the lock; over many rounds with keepGenerations 0 the generations are exactly
# consecutive (no number used twice, none skipped), each complete (all of a or all of b), and
# the link points at the last; a run that finds its plan current is unchanged.
# A run that cannot get the lock in time exits 14 and changes nothing.
F=/src/fixtures/corpus/yaml/simple.enc.yaml
mk() { cat > /tmp/plan-$1.json <<JSON
{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt", "keepGenerations": 0, "secrets": [
  {"name": "who", "key": "$2", "sopsFile": "$F"},
  {"name": "big", "key": "", "sopsFile": "/src/fixtures/corpus/yaml/types.enc.yaml"},
  {"name": "tag", "key": "message", "sopsFile": "$F", "mode": "$3"}]}
JSON
}
mk a message 0400; mk b nested/secret 0440
kw /tmp/plan-a.json
expect_rc 0
N=15 bad_rounds=0 made=""
for i in $(seq 1 $N); do
  keyward install /tmp/plan-a.json >/dev/null 2>/tmp/a.err & pa=$!
  keyward install /tmp/plan-b.json >/dev/null 2>/tmp/b.err & pb=$!
  wait $pa; ra=$?; wait $pb; rb=$?
  [ "$ra$rb" = 00 ] || { bad_rounds=$((bad_rounds + 1)); echo "round $i: exit $ra $rb"; cat /tmp/a.err /tmp/b.err; }
  # each run either made a generation or found its plan already current (the other run of
  # the round, or the previous round, installed the same plan)
  for e in /tmp/a.err /tmp/b.err; do
    g=$(sed -n 's/^keyward: installed generation \([0-9]*\) at .*/\1/p' $e)
    if [ -n "$g" ]; then made="$made $g"; elif ! grep -q '^keyward: unchanged' $e; then bad_rounds=$((bad_rounds + 1)); cat $e; fi
  done
done
check_eq "rounds where a run failed" "$bad_rounds" 0
last=$(readlink /run/secrets); last=${last##*/}
# generation numbers: every run that installed got its own number, consecutively, no gaps
check_eq "generation numbers made by the runs" "$(echo $made | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')" "$(seq 2 $last | tr '\n' ' ' | sed 's/ $//')"
check_eq "generations present" "$(generations)" "$(seq 1 $last | tr '\n' ' ' | sed 's/ $//')"
[ "$last" -ge $((N + 1)) ] && ok "at least one new generation per round ($last)" || bad "only $last generations"
incomplete=0
for g in $(seq 1 $last); do
  d=/run/secrets.d/$g
  case "$(cat $d/who 2>/dev/null)|$(stat -c %a $d/tag 2>/dev/null)" in
    "hello from keyward|400"|"s3cr3t|440") ;;
    *) incomplete=$((incomplete + 1)); echo "generation $g is not a complete a or b";;
  esac
  [ -s $d/big ] && [ -f $d/.keyward.json ] || incomplete=$((incomplete + 1))
done
check_eq "incomplete or mixed generations" "$incomplete" 0

say "a lock held too long: exit 14, nothing changed"
snap=$(snapshot /run/secrets.d /run/secrets)
flock /run/secrets.d sleep 3 & holder=$!
sleep 0.3
kw --lock-timeout 1 /tmp/plan-b.json
expect_rc 14
expect_err_has "another keyward install holds the lock on /run/secrets.d (waited 1s)"
check_eq "tree unchanged" "$(snapshot /run/secrets.d /run/secrets)" "$snap"
wait $holder
