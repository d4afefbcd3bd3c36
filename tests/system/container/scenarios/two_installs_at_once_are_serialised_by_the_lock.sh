# Invariant 8: two installs started together both succeed (exit 0), one after the other
# behind the lock; over many rounds with keepGenerations 0 the generations are exactly
# 1..2N+1 (no number used twice, none skipped), each complete, and the link points at the last.
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
N=15 bad_rounds=0
for i in $(seq 1 $N); do
  keyward install /tmp/plan-a.json >/dev/null 2>/tmp/a.err & pa=$!
  keyward install /tmp/plan-b.json >/dev/null 2>/tmp/b.err & pb=$!
  wait $pa; ra=$?; wait $pb; rb=$?
  [ "$ra$rb" = 00 ] || { bad_rounds=$((bad_rounds + 1)); echo "round $i: exit $ra $rb"; cat /tmp/a.err /tmp/b.err; }
done
check_eq "rounds where a run failed" "$bad_rounds" 0
check_eq "generations" "$(generations)" "$(seq 1 $((2 * N + 1)) | tr '\n' ' ' | sed 's/ $//')"
last=$(readlink /run/secrets)
check_eq "link at the last generation" "$last" "/run/secrets.d/$((2 * N + 1))"
incomplete=0
for g in $(seq 1 $((2 * N + 1))); do
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
