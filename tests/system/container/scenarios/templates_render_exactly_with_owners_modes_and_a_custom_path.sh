# P13, sops-nix VM-6: a template renders exactly (placeholder mid-line, lines around it
# untouched), owner/group by name, uid/gid by number, a custom `path` linking into rendered/;
# a template from a file; a placeholder of a failed secret fails the template (exit 11).
F=/src/fixtures/corpus/yaml/simple.enc.yaml
PH='<SOPS:0123456789abcdef:PLACEHOLDER>'
printf 'user = someone\npass = %s\n' "$PH" > /src/tmpl.in
cat > /tmp/plan.json <<JSON
{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt",
 "placeholderBySecretName": {"test_key": "$PH"},
 "secrets": [{"name": "test_key", "key": "message", "sopsFile": "$F"}],
 "templates": [
  {"name": "test_template", "content": "This line is not modified.\nThe next value will be replaced by $PH\nThis line is also not modified.\n", "mode": "0400", "owner": "someuser", "group": "somegroup"},
  {"name": "test_default", "content": "Test value: $PH\n", "path": "/etc/externally/linked"},
  {"name": "test_uid_gid", "content": "$PH", "uid": 420, "gid": 420, "mode": "0440"},
  {"name": "from_file", "file": "/src/tmpl.in", "mode": "0600"}
 ]}
JSON
kw /tmp/plan.json
expect_rc 0
expect_file /run/secrets/rendered/test_template "400 1000 1000" "This line is not modified.
The next value will be replaced by hello from keyward
This line is also not modified.
"
check_eq "names" "$(stat -c '%U %G' /run/secrets/rendered/test_template)" "someuser somegroup"
expect_file /run/secrets/rendered/test_default "400 0 0" "Test value: hello from keyward
"
expect_link /etc/externally/linked /run/secrets/rendered/test_default
check_eq "realpath /etc/externally/linked" "$(realpath /etc/externally/linked)" /run/secrets.d/1/rendered/test_default
expect_file /run/secrets/rendered/test_uid_gid "440 420 420" "hello from keyward"
expect_file /run/secrets/rendered/from_file "600 0 0" "user = someone
pass = hello from keyward
"
expect_dir /run/secrets/rendered "751 0 96"
no_plaintext_outside /run/secrets.d "hello from keyward"

say "a template whose secret fails: exit 11, both named, generation 1 kept"
sed -i 's|"key": "message"|"key": "no/such/key"|' /tmp/plan.json
kw /tmp/plan.json
expect_rc 11
expect_err_has 'keyward: secret "test_key": '
expect_err_has 'keyward: template "test_template": '
expect_link /run/secrets /run/secrets.d/1
