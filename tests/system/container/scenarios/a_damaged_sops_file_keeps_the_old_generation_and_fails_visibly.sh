# Invariant 4 with real files: a sops file truncated, or one value altered (MAC/tag
# mismatch), fails the run with the file and reason named (exit 11); the old generation stays
# current, byte for byte; nothing half-written is left.
cp hosts/example/plan.json /tmp/plan.json
mkdir -p /src/work && cp -r secrets /src/work/ && sed -i 's|"secrets/|"/src/work/secrets/|' /tmp/plan.json
kw /tmp/plan.json
expect_rc 0
snap=$(snapshot /run/secrets.d /run/secrets)
say "truncated"
head -c 1500 secrets/example.yaml > /src/work/secrets/example.yaml
kw /tmp/plan.json
expect_rc 11
expect_err_has 'keyward: secret "postgres/password": /src/work/secrets/example.yaml: '
check_eq "tree unchanged" "$(snapshot /run/secrets.d /run/secrets)" "$snap"
say "a value altered"
cp secrets/example.yaml /src/work/secrets/example.yaml
# postgres/password's ciphertext: its first base64 character replaced by another
sed -i '/^    password: ENC\[AES256_GCM,data:/{s/data:A/data:B/;t;s/data:./data:A/}' /src/work/secrets/example.yaml
cmp_out=$(diff secrets/example.yaml /src/work/secrets/example.yaml | grep -c '^>')
check_eq "one line altered" "$cmp_out" 1
kw /tmp/plan.json
expect_rc 11
expect_err_has '/src/work/secrets/example.yaml: '
check_eq "tree unchanged" "$(snapshot /run/secrets.d /run/secrets)" "$snap"
