# P14/P18: the neededForUsers plan (the example host's plan-for-users.json) runs with
# --numeric-ids before the users exist (/etc/passwd has only root), into its own ramfs at
# /run/secrets-for-users; a name in it is refused; then the users appear, the regular plan
# (with templates) installs next to it, and a second activation keeps both.
cat > /etc/passwd <<'P'
root:x:0:0:root:/root:/bin/sh
P
printf 'root:x:0:\n' > /etc/group
HASH='$6$exampleSalt$cDKRsIKsOugPkmu3Xux4mvdP36qItiEPgjTyQ9n6kRblUZAQHkADjciKMV9.tuQUYi.MMW3ThA9fXCJinTo6s/'
kw --numeric-ids hosts/example/plan-for-users.json
expect_rc 0
check_eq "mount" "$(grep ' /run/secrets-for-users.d ' /proc/mounts | cut -d' ' -f3)" ramfs
expect_link /run/secrets-for-users /run/secrets-for-users.d/1
expect_file /run/secrets-for-users/users/alice-password-hash "400 0 0" "$HASH"
expect_dir /run/secrets-for-users.d/1 "751 0 0"

say "a name in a for-users plan is refused before anything is touched"
sed 's/"owner": null/"owner": "alice"/' hosts/example/plan-for-users.json > /tmp/named.json
kw --numeric-ids /tmp/named.json
expect_rc 10
expect_err_line 'keyward: secret "users/alice-password-hash": a neededForUsers secret is installed before users exist: use numeric uid/gid, not names'
say "and with --numeric-ids a name in a regular plan is refused at install"
cat > /tmp/named.json <<'JSON'
{"version": 1, "ageKeyFile": "hosts/example/test-age-key.txt", "secretsMountPoint": "/run/secrets-for-users.d",
 "symlinkPath": "/run/secrets-for-users", "secrets": [{"name": "users/alice-password-hash",
 "key": "users/alice-password-hash", "sopsFile": "secrets/example.yaml", "owner": "alice"}]}
JSON
kw --numeric-ids /tmp/named.json
expect_rc 11
expect_err_has 'owner "alice": names cannot be looked up at this stage (neededForUsers / -ignore-passwd); use a numeric uid'

expect_link /run/secrets-for-users /run/secrets-for-users.d/1

say "the users appear; the regular plan installs next to it"
cat >> /etc/passwd <<'P'
postgres:x:71:71::/:/bin/false
grafana:x:196:196::/:/bin/false
alice:x:1000:100::/:/bin/sh
P
printf 'users:x:100:\npostgres:x:71:\ngrafana:x:196:\nkeys:x:96:\n' >> /etc/group
kw hosts/example/plan.json
expect_rc 0
expect_file /run/secrets/postgres/password "400 71 71" "correct-horse-battery-staple"
expect_file /run/secrets/rendered/grafana-smtp.env "400 196 196" "GF_SMTP_ENABLED=true
GF_SMTP_USER=alerts@example.org
GF_SMTP_PASSWORD=smtp-test-password
"
expect_link /etc/ssh/ssh_host_ed25519_key /run/secrets/ssh_host_ed25519_key
check_eq "ssh key mode" "$(stat -L -c '%a %u %g' /etc/ssh/ssh_host_ed25519_key)" "600 0 0"
expect_file /run/secrets/app.env "400 0 0" "API_TOKEN=tok-test-1234
DEBUG=false
"

say "a second activation (unchanged) keeps both"
kw --numeric-ids hosts/example/plan-for-users.json
expect_rc 0
kw hosts/example/plan.json
expect_rc 0
expect_link /run/secrets-for-users /run/secrets-for-users.d/1
expect_link /run/secrets /run/secrets.d/1
expect_file /run/secrets-for-users/users/alice-password-hash "400 0 0" "$HASH"
no_plaintext_outside "/run/secrets.d /run/secrets-for-users.d" "$HASH" "correct-horse-battery-staple" "smtp-test-password" "tok-test-1234" "grafana-admin-test-password"
