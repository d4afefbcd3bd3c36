# P3 (age key file), P5 (yaml/json/binary/dotenv/ini), P6 (nested key → nested path), P8 (exact
# modes), P11 (generation 1, then 2): the fixture corpus, real sops files, one age key file.
# Also: a real ramfs mounted by keyward with the documented flags, directories 0751 root:keys.
C=/src/fixtures/corpus E=/harness/expect/corpus
cat > /tmp/plan.json <<JSON
{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt", "secrets": [
  {"name": "test_key", "key": "message", "sopsFile": "$C/yaml/simple.enc.yaml", "mode": "0400"},
  {"name": "nested/test/file", "key": "nested/secret", "sopsFile": "$C/yaml/simple.enc.yaml", "mode": "0440", "group": "keys"},
  {"name": "json", "key": "nested/secret", "sopsFile": "$C/json/simple.enc.json", "format": "json", "mode": "0700"},
  {"name": "whole.yaml", "key": "", "sopsFile": "$C/yaml/nested.enc.yaml"},
  {"name": "bin", "sopsFile": "$C/binary/allbytes.enc.bin", "format": "binary", "mode": "0600"},
  {"name": "env", "key": "", "sopsFile": "$C/dotenv/simple.enc.env", "format": "dotenv"},
  {"name": "ini", "key": "", "sopsFile": "$C/ini/simple.enc.ini", "format": "ini"}
]}
JSON
kw /tmp/plan.json
expect_rc 0
expect_changes ""   # first boot: no change lines
expect_err_line "keyward: imported /src/fixtures/keys/age/key1.txt ($(sed -n 's/^# public key: //p' /src/fixtures/keys/age/key1.txt))"
check_eq "mount" "$(grep ' /run/secrets.d ' /proc/mounts | cut -d' ' -f3,4)" "ramfs rw,nosuid,nodev,noexec,relatime,mode=751"
expect_link /run/secrets /run/secrets.d/1
expect_dir /run/secrets.d "751 0 96"
expect_dir /run/secrets.d/1 "751 0 96"
expect_dir /run/secrets.d/1/nested/test "751 0 96"
expect_file /run/secrets/test_key "400 0 0" "hello from keyward"
expect_file /run/secrets/nested/test/file "440 0 96" "s3cr3t"
expect_file /run/secrets/json "700 0 0" "s3cr3t"
expect_file_from /run/secrets/whole.yaml "400 0 0" $E/yaml/nested.enc.yaml.decrypted
expect_file_from /run/secrets/bin "600 0 0" $E/binary/allbytes.enc.bin.decrypted
expect_file_from /run/secrets/env "400 0 0" $E/dotenv/simple.enc.env.decrypted
expect_file_from /run/secrets/ini "400 0 0" $E/ini/simple.enc.ini.decrypted
check_eq "entries of generation 1" "$(cd /run/secrets.d/1 && find . -mindepth 1 | sort | tr '\n' ' ')" \
  "./.keyward.json ./bin ./env ./ini ./json ./nested ./nested/test ./nested/test/file ./test_key ./whole.yaml "
no_plaintext_outside /run/secrets.d "hello from keyward" "s3cr3t" "NUMBER=1" "message = hello"

say "P11: a changed plan makes generation 2"
sed -i 's/"mode": "0700"/"mode": "0750"/' /tmp/plan.json
kw /tmp/plan.json
expect_rc 0
expect_link /run/secrets /run/secrets.d/2
check_eq "generations (keepGenerations 1)" "$(generations)" "2"
expect_file /run/secrets/json "750 0 0" "s3cr3t"
