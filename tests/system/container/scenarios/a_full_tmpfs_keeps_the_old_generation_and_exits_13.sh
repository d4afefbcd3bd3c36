# A full secrets filesystem (useTmpfs with a pre-mounted 64 KiB tmpfs; the 5.5 MB sops file
# from the corpus does not fit): the half-written generation is removed, the old generation
# stays current and intact, exit 13 with a message naming the secret and the cause; once the
# plan fits again the next run succeeds.
C=/src/fixtures/corpus
mkdir -p /run/secrets.d
mount -t tmpfs -o size=64k,mode=0751 tmpfs /run/secrets.d
plan() { cat > /tmp/plan.json <<JSON
{"version": 1, "useTmpfs": true, "ageKeyFile": "/src/fixtures/keys/age/key1.txt", "secrets": [
  {"name": "small", "key": "message", "sopsFile": "$C/yaml/simple.enc.yaml"}$1]}
JSON
}
plan ""
kw /tmp/plan.json
expect_rc 0
check_eq "the pre-mounted tmpfs is used" "$(grep -c ' /run/secrets.d tmpfs ' /proc/mounts)" 1
snap=$(snapshot /run/secrets.d/1 /run/secrets)
plan ", {\"name\": \"large\", \"key\": \"\", \"sopsFile\": \"$C/large/large.enc.yaml\"}"
kw /tmp/plan.json
expect_rc 13
expect_err_has 'keyward: secret "large": cannot write '
expect_err_has "No space left on device"
expect_link /run/secrets /run/secrets.d/1
check_eq "generations" "$(generations)" "1"
check_eq "old generation intact (same tree)" "$(snapshot /run/secrets.d/1 /run/secrets)" "$snap"

say "the plan fits again"
plan ", {\"name\": \"n\", \"key\": \"nested/secret\", \"sopsFile\": \"$C/yaml/simple.enc.yaml\"}"
kw /tmp/plan.json
expect_rc 0
expect_link /run/secrets /run/secrets.d/2
expect_file /run/secrets/n "400 0 0" "s3cr3t"
