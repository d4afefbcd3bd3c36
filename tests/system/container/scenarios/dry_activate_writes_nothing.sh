# P17: NIXOS_ACTION=dry-activate prints the "would …" lines and writes nothing: the whole tree
# (every path, type, mode, owner, inode, mtime, link target and file digest, /run included) is
# identical before and after; no unit action, no mount, no lock file. First on an empty
# system, then over an installed generation with changes.
F=/src/fixtures/corpus/yaml/simple.enc.yaml
mkdir -p /run/nixos /var/lib/metrics
printf '#!/bin/sh\necho "$*" >> /tmp/systemctl.log\n' > /bin/fake-systemctl; chmod 755 /bin/fake-systemctl
plan() { cat > /tmp/plan.json <<JSON
{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt", "metrics": {"directory": "/var/lib/metrics"},
 "placeholderBySecretName": {"test_key": "<SOPS:t:PLACEHOLDER>", "another_key": "<SOPS:a:PLACEHOLDER>"},
 "secrets": [$1],
 "templates": [$2]}
JSON
}
TK="{\"name\": \"test_key\", \"key\": \"message\", \"sopsFile\": \"$F\", \"restartUnits\": [\"x.service\"], \"path\": \"/etc/linked/test_key\"}"
AK="{\"name\": \"another_key\", \"key\": \"nested/secret\", \"sopsFile\": \"$F\", \"reloadUnits\": [\"y.service\"]}"
TT='{"name": "test_template", "content": "<SOPS:t:PLACEHOLDER>"}'
AT='{"name": "another_template", "content": "<SOPS:a:PLACEHOLDER>"}'
dry() { KW_ENV=(NIXOS_ACTION=dry-activate SOPS_RESTART_UNITS_VIA_SYSTEMCTL="${1:-}" KEYWARD_SYSTEMCTL=/bin/fake-systemctl); kw /tmp/plan.json; KW_ENV=(); }

say "nothing installed yet"
plan "$TK" "$TT"
before=$(snapshot /)
dry
expect_rc 0
check_eq "tree unchanged (empty system)" "$(snapshot /)" "$before"
expect_absent /run/secrets.d
check_eq "no mount" "$(grep -c secrets /proc/mounts)" 0

say "over generation 1 (another_key, another_template), with changes"
plan "$AK" "$AT"
kw /tmp/plan.json
expect_rc 0
plan "$TK, $AK" "$TT"
sed -i 's/"key": "nested\/secret"/"key": "message"/' /tmp/plan.json
before=$(snapshot /)
dry
expect_rc 0
expect_changes "would add secret: test_key
would modify secret: another_key
would add rendered secret: test_template
would remove rendered secret: another_template"
expect_out_line "would restart x.service"
expect_out_line "would reload y.service"
check_eq "tree unchanged (installed system)" "$(snapshot /)" "$before"
dry 1
expect_rc 0
check_eq "tree unchanged (systemctl mode)" "$(snapshot /)" "$before"
expect_absent /tmp/systemctl.log
check_eq "no unit lists" "$(ls /run/nixos)" ""
expect_absent /etc/linked
expect_link /run/secrets /run/secrets.d/1

say "the same plan for real switches"
kw /tmp/plan.json
expect_rc 0
expect_link /run/secrets /run/secrets.d/2
expect_link /etc/linked/test_key /run/secrets/test_key
expect_absent /run/secrets/rendered/another_template
