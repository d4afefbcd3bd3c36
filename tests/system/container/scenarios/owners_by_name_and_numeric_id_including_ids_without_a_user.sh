# P7: owner/group by name (the container's /etc/passwd and /etc/group), numeric uid/gid with
# and without a user, uid only → gid 0; an unknown name fails naming the secret and keeps the
# old generation (exit 11).
F=/src/fixtures/corpus/yaml/simple.enc.yaml
s() { echo "{\"name\": \"$1\", \"key\": \"message\", \"sopsFile\": \"$F\"$2}"; }
cat > /tmp/plan.json <<JSON
{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt", "secrets": [
  $(s test_key_someuser_somegroup ', "owner": "someuser", "group": "somegroup"'),
  $(s test_key_someuser_root ', "owner": "someuser"'),
  $(s test_key_root_root ', "owner": "root", "group": "root"'),
  $(s test_key_1001_1001 ', "uid": 1001, "gid": 1001'),
  $(s test_key_4242_only ', "uid": 4242'),
  $(s test_key_svc_by_id ', "uid": 2000, "gid": 2001, "mode": "0440"')
]}
JSON
kw /tmp/plan.json
expect_rc 0
V="hello from keyward"
expect_file /run/secrets/test_key_someuser_somegroup "400 1000 1000" "$V"
check_eq "names" "$(stat -c '%U %G' /run/secrets/test_key_someuser_somegroup)" "someuser somegroup"
expect_file /run/secrets/test_key_someuser_root "400 1000 0" "$V"
check_eq "names" "$(stat -c '%U %G' /run/secrets/test_key_someuser_root)" "someuser root"
expect_file /run/secrets/test_key_root_root "400 0 0" "$V"
expect_file /run/secrets/test_key_1001_1001 "400 1001 1001" "$V"
check_eq "ids with no user" "$(stat -c '%U %G' /run/secrets/test_key_1001_1001)" "UNKNOWN UNKNOWN"
expect_file /run/secrets/test_key_4242_only "400 4242 0" "$V"
expect_file /run/secrets/test_key_svc_by_id "440 2000 2001" "$V"
check_eq "names of numeric ids" "$(stat -c '%U %G' /run/secrets/test_key_svc_by_id)" "svc svcgroup"

say "an unknown owner or group name: exit 11, every one named, generation 1 kept"
sed -i 's/"owner": "someuser", "group": "somegroup"/"owner": "nosuchuser", "group": "somegroup"/; s/"owner": "root", "group": "root"/"owner": "root", "group": "nosuchgroup"/' /tmp/plan.json
kw /tmp/plan.json
expect_rc 11
expect_err_has 'keyward: secret "test_key_someuser_somegroup": owner "nosuchuser" does not exist (looked up in /etc/passwd)'
expect_err_has 'keyward: secret "test_key_root_root": group "nosuchgroup" does not exist (looked up in /etc/group)'
expect_link /run/secrets /run/secrets.d/1
check_eq "generations" "$(generations)" "1"
expect_file /run/secrets/test_key_someuser_somegroup "400 1000 1000" "$V"
