# failurePolicy "partial": what decrypts is installed as a new generation, the failures are
# named, exit 12; the default policy (all-or-nothing) on the same input keeps the old
# generation, names every failed secret and exits 11.
C=/src/fixtures/corpus
plan() { cat > /tmp/plan.json <<JSON
{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt", "failurePolicy": "$1", "secrets": [
  {"name": "good", "key": "message", "sopsFile": "$C/yaml/simple.enc.yaml"},
  {"name": "other-key", "key": "", "sopsFile": "$C/negative/unknown-key.enc.yaml"},
  {"name": "missing", "key": "no/such", "sopsFile": "$C/yaml/simple.enc.yaml"}]}
JSON
}
printf '{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt", "secrets": [{"name": "good", "key": "nested/secret", "sopsFile": "%s"}]}' "$C/yaml/simple.enc.yaml" > /tmp/plan.json
kw /tmp/plan.json
expect_rc 0
expect_file /run/secrets/good "400 0 0" "s3cr3t"

say "all-or-nothing"
plan all-or-nothing
kw /tmp/plan.json
expect_rc 11
expect_err_has 'keyward: secret "other-key": '
expect_err_has 'no identity matches this file'
expect_err_has 'keyward: secret "missing": '
expect_link /run/secrets /run/secrets.d/1
expect_file /run/secrets/good "400 0 0" "s3cr3t"
check_eq "generations" "$(generations)" "1"

say "partial"
plan partial
kw /tmp/plan.json
expect_rc 12
expect_err_has 'keyward: secret "other-key": '
expect_err_has 'keyward: secret "missing": '
expect_link /run/secrets /run/secrets.d/2
expect_file /run/secrets/good "400 0 0" "hello from keyward"
expect_absent /run/secrets.d/2/other-key
expect_absent /run/secrets.d/2/missing
