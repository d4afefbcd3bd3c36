# SOPS_RESTART_UNITS_VIA_SYSTEMCTL=1 with a fake systemctl (KEYWARD_SYSTEMCTL) that logs its
# argv and where /run/secrets pointed when it ran: try-restart / try-reload-or-restart
# --no-block, only for changed entries, after the switch; nothing at first boot, nothing when
# unchanged; the child's environment carries no plaintext.
F=/src/fixtures/corpus/yaml/simple.enc.yaml
cat > /bin/fake-systemctl <<'SH'
#!/bin/sh
echo "argv: $* | secrets -> $(readlink /run/secrets)" >> /tmp/systemctl.log
env | sort > /tmp/systemctl.env
SH
chmod 755 /bin/fake-systemctl
KW_ENV=(SOPS_RESTART_UNITS_VIA_SYSTEMCTL=1 KEYWARD_SYSTEMCTL=/bin/fake-systemctl)
plan() { cat > /tmp/plan.json <<JSON
{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt", "secrets": [
  {"name": "a", "key": "$1", "sopsFile": "$F", "restartUnits": ["a.service", "b.service"], "reloadUnits": ["r.service"]},
  {"name": "c", "key": "message", "sopsFile": "$F", "restartUnits": ["c.service"]}]}
JSON
}
plan message
kw /tmp/plan.json
expect_rc 0
expect_absent /tmp/systemctl.log
kw /tmp/plan.json
expect_rc 0
expect_absent /tmp/systemctl.log
plan nested/secret
kw /tmp/plan.json
expect_rc 0
check_eq "systemctl calls" "$(cat /tmp/systemctl.log)" "argv: --no-block try-restart a.service b.service | secrets -> /run/secrets.d/2
argv: --no-block try-reload-or-restart r.service | secrets -> /run/secrets.d/2"
check_eq "no list files" "$(ls /run/nixos 2>/dev/null)" ""
if grep -qF -e s3cr3t -e "hello from keyward" /tmp/systemctl.env; then bad "plaintext in systemctl's environment"; else ok "no plaintext in systemctl's environment"; fi

say "a failing systemctl: exit 13, the new generation stays current"
printf '#!/bin/sh\necho "argv: $*" >> /tmp/systemctl.log\nexit 1\n' > /bin/fake-systemctl
rm /tmp/systemctl.log
plan message
kw /tmp/plan.json
expect_rc 13
expect_link /run/secrets /run/secrets.d/3
check_eq "systemctl calls" "$(head -1 /tmp/systemctl.log)" "argv: --no-block try-restart a.service b.service"
