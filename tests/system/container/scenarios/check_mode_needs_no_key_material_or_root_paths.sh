# P19: `keyward check` (and --sops-files) passes on the example host's plans with no key
# anywhere (the plan's ageKeyFile removed) and writes nothing.
rm -f hosts/example/test-age-key.txt
before=$(snapshot /)
out=$(keyward check hosts/example/plan.json 2>&1); check_eq "check exit" "$?" 0
out=$(keyward check --sops-files hosts/example/plan.json 2>&1); check_eq "check --sops-files exit" "$?" 0
out=$(keyward check --sops-files hosts/example/plan-for-users.json 2>&1); check_eq "for-users check exit" "$?" 0
check_eq "tree unchanged" "$(snapshot /)" "$before"
