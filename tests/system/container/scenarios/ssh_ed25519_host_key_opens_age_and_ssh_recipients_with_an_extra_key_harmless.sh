# P2: an ed25519 SSH host key (ageSshKeyPaths) opens files encrypted to its ssh-to-age recipient
# and to the ssh-ed25519 recipient; an unrelated age key file next to it (sops-nix's
# "generated key appended") does no harm; no merged age-keys.txt is left anywhere.
C=/src/fixtures/corpus
mkdir -p /etc/ssh && cp /src/fixtures/keys/ssh/id_ed25519 /etc/ssh/ssh_host_ed25519_key && chmod 600 /etc/ssh/ssh_host_ed25519_key
cat > /tmp/plan.json <<JSON
{"version": 1, "ageSshKeyPaths": ["/etc/ssh/ssh_host_ed25519_key"], "ageKeyFile": "/src/fixtures/keys/age/key2.txt",
 "secrets": [
  {"name": "via-ssh-to-age", "key": "nested/secret", "sopsFile": "$C/recipients/ssh-to-age.enc.yaml"},
  {"name": "via-ssh-recipient", "key": "trailing_space", "sopsFile": "$C/recipients/ssh-ed25519.enc.yaml"}
]}
JSON
kw /tmp/plan.json
expect_rc 0
expect_file /run/secrets/via-ssh-to-age "400 0 0" "s3cr3t"
expect_file /run/secrets/via-ssh-recipient "400 0 0" "ends with space "
check_eq "no age-keys.txt anywhere" "$(find / -xdev -name 'age-keys.txt' 2>/dev/null; find /run -name 'age-keys.txt')" ""
no_plaintext_outside /run/secrets.d "s3cr3t" "ends with space "
