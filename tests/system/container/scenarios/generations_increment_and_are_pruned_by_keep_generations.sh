# P11/P12, sops-nix VM-2: with generations 2..99 and a non-numeric entry made by hand and the
# link at 99 (not keyward's complete generation), the next run makes 100; keepGenerations 0
# removes nothing; 10 at 101 removes ≤ 91 and keeps 92..101 and the non-numeric entry; 1 keeps
# only the current one.
F=/src/fixtures/corpus/yaml/simple.enc.yaml
plan() { cat > /tmp/plan.json <<JSON
{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt", "keepGenerations": $1, "secrets": [
  {"name": "test_key", "key": "$2", "sopsFile": "$F"}]}
JSON
}
plan 0 message
kw /tmp/plan.json
expect_rc 0
expect_link /run/secrets /run/secrets.d/1
for i in $(seq 2 99); do mkdir /run/secrets.d/$i; done
mkdir /run/secrets.d/non-numeric
ln -sfn /run/secrets.d/99 /run/secrets
kw /tmp/plan.json
expect_rc 0
expect_link /run/secrets /run/secrets.d/100
expect_file /run/secrets/test_key "400 0 0" "hello from keyward"
for d in 1 90 99 non-numeric; do expect_present /run/secrets.d/$d; done
check_eq "count of entries (K=0)" "$(ls /run/secrets.d | wc -l)" 101

say "keepGenerations 10 at generation 101"
plan 10 nested/secret
kw /tmp/plan.json
expect_rc 0
expect_link /run/secrets /run/secrets.d/101
expect_absent /run/secrets.d/91
expect_absent /run/secrets.d/1
expect_present /run/secrets.d/92
expect_present /run/secrets.d/non-numeric
check_eq "generations (K=10)" "$(generations)" "non-numeric 92 93 94 95 96 97 98 99 100 101"
expect_file /run/secrets.d/100/test_key "400 0 0" "hello from keyward"
expect_file /run/secrets/test_key "400 0 0" "s3cr3t"

say "keepGenerations 1 at 102"
plan 1 message
kw /tmp/plan.json
expect_rc 0
check_eq "generations (K=1)" "$(generations)" "non-numeric 102"
expect_changes "modifying secret: test_key"
