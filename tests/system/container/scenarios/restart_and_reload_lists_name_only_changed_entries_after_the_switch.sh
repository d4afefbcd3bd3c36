# P15/P16, sops-nix VM-7 with NixOS's list files: nothing queued at first boot or when
# unchanged; a changed secret or template queues its units in /run/nixos/activation-*-list
# (0600) after the switch; the change lines use sops-nix's exact wording.
F=/src/fixtures/corpus/yaml/simple.enc.yaml
PH='<SOPS:ph:PLACEHOLDER>'
mkdir -p /run/nixos
plan() { cat > /tmp/plan.json <<JSON
{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt", "placeholderBySecretName": {"test_key": "$PH", "other": "<SOPS:o:PLACEHOLDER>"},
 "secrets": [
  {"name": "test_key", "key": "$1", "sopsFile": "$F", "restartUnits": ["restart-unit.service", "reload-unit.service"], "reloadUnits": ["reload-trigger.service"]},
  {"name": "other", "key": "message", "sopsFile": "$F", "restartUnits": ["other.service"]}],
 "templates": [{"name": "test_template", "content": "$2 $PH", "restartUnits": ["tmpl-restart.service"], "reloadUnits": ["tmpl-reload.service"]}]}
JSON
}
lists() { for l in restart reload; do printf '%s: ' $l; tr '\n' ' ' < /run/nixos/activation-$l-list 2>/dev/null; echo; done; }
plan message v1
kw /tmp/plan.json
expect_rc 0
check_eq "first boot queues nothing" "$(ls /run/nixos)" ""
expect_changes ""

say "unchanged: nothing"
kw /tmp/plan.json
expect_rc 0
check_eq "unchanged queues nothing" "$(ls /run/nixos)" ""

say "the secret's bytes change (another key): its units and the template's (it embeds the secret)"
plan nested/secret v1
kw /tmp/plan.json
expect_rc 0
expect_changes "modifying secret: test_key
modifying rendered secret: test_template"
check_eq "lists" "$(lists)" "restart: restart-unit.service reload-unit.service tmpl-restart.service 
reload: reload-trigger.service tmpl-reload.service "
check_eq "list modes" "$(stat -c '%a %u %g' /run/nixos/activation-restart-list /run/nixos/activation-reload-list | tr '\n' ' ')" "600 0 0 600 0 0 "
rm /run/nixos/*

say "only the template changes"
plan nested/secret v2
kw /tmp/plan.json
expect_rc 0
expect_changes "modifying rendered secret: test_template"
check_eq "lists" "$(lists)" "restart: tmpl-restart.service 
reload: tmpl-reload.service "
rm /run/nixos/*

say "sops-nix's change detection: a file emptied by hand is repaired and its units queued"
: > /run/secrets/test_key
kw /tmp/plan.json
expect_rc 0
expect_file /run/secrets/test_key "400 0 0" "s3cr3t"
check_eq "lists after repair" "$(lists)" "restart: restart-unit.service reload-unit.service 
reload: reload-trigger.service "
rm -f /run/nixos/*

say "removed and added entries"
plan message v2
sed -i 's/"other"/"another_key"/g' /tmp/plan.json
kw /tmp/plan.json
expect_rc 0
expect_changes "adding secret: another_key
modifying secret: test_key
removing secret: other
modifying rendered secret: test_template"
