# Boot 1: the example host's first boot, then three switches, in NixOS's order: the module's
# setupSecretsForUsers snippet before users exist, the "users" step, the setupSecrets snippet;
# then switches to system 2 (two secrets rotated), to system 3 (a corrupted sops file) and back
# to 2. Every snippet is the one the module makes for the example host (snippets.nix), run as
# the activation script runs it. Sourced by /init, which provides check/same/activate/…
STORE=/nix/store
P=0000000000000000000000000000000
LISTS="/run/nixos/activation-restart-list /run/nixos/activation-reload-list"
no_lists() { for l in $LISTS; do [ ! -e "$l" ] || { echo "$l:"; cat "$l"; return 1; }; done; }
no_change_lines() { ! grep -E 'adding|modifying|removing|restart|reload' "$out"; }

echo "## first boot: before users exist"
check "/run is fresh: no /run/secrets, no /run/secrets-for-users" \
  sh -c '! [ -e /run/secrets ] && ! [ -L /run/secrets ] && ! [ -e /run/secrets-for-users ]'
check "no /etc/passwd yet (NixOS creates users after the for-users phase)" test ! -e /etc/passwd
mkdir -p /run/nixos # NixOS's specialfs step

activate for-users setupSecretsForUsers
same "for-users: the module's setupSecretsForUsers snippet exits 0" "$rc" 0
check "for-users: /run/secrets-for-users.d is a ramfs mounted by keyward (nosuid,nodev,noexec)" \
  mounted_as /run/secrets-for-users.d ramfs
same "for-users: /run/secrets-for-users -> generation 1" "$(readlink /run/secrets-for-users)" /run/secrets-for-users.d/1
expect_secrets gen1 "$S/for-users.tsv"
check "for-users: the secrets exist while /etc/passwd still does not" test ! -e /etc/passwd

echo "## first boot: users, then setupSecrets (system 1)"
create_users
activate first setupSecrets1
same "first: the module's setupSecrets snippet exits 0" "$rc" 0
check "first: /run/secrets.d is a ramfs mounted by keyward (nosuid,nodev,noexec)" mounted_as /run/secrets.d ramfs
same "first: /run/secrets -> generation 1" "$(readlink /run/secrets)" /run/secrets.d/1
same "first: the generation directory is 0751 root:keys (keys = 96 from /etc/group)" \
  "$(stat -c '%a %u %g' /run/secrets.d/1)" "751 0 96"
expect_secrets gen1 "$S/secrets.tsv"
same "first: generation 1 holds exactly the plan's files" "$(files_below /run/secrets/)" "$(tsv_below "$S/secrets.tsv" /run/secrets)"
same "first: /etc/ssh/ssh_host_ed25519_key is a link into /run/secrets" \
  "$(readlink /etc/ssh/ssh_host_ed25519_key)" /run/secrets/ssh_host_ed25519_key
check "first: postgres (uid 71) reads its password" su postgres -c 'cat /run/secrets/postgres/password'
check "first: grafana (uid 196) cannot read postgres's password" \
  sh -c "test -e /run/secrets/postgres/password && ! su grafana -c 'cat /run/secrets/postgres/password'"
check "first: nothing restarted at first boot (no activation lists)" no_lists
check "first: no change lines at first boot" no_change_lines

echo "## switch to the same system: a no-op"
before=$(fingerprint /run/secrets.d)
activate unchanged setupSecrets1
same "unchanged: exits 0" "$rc" 0
same "unchanged: nothing in /run/secrets.d changed (inodes, mtimes, modes, owners)" "$(fingerprint /run/secrets.d)" "$before"
same "unchanged: /run/secrets still -> generation 1" "$(readlink /run/secrets)" /run/secrets.d/1
check "unchanged: no activation lists" no_lists
check "unchanged: no change lines" no_change_lines

echo "## switch to system 2: postgres/password and grafana/smtp/password rotated"
rm -f $LISTS # switch-to-configuration starts with empty lists
activate rotated setupSecrets2
same "rotated: exits 0" "$rc" 0
same "rotated: /run/secrets -> generation 2" "$(readlink /run/secrets)" /run/secrets.d/2
expect_secrets gen2 "$S/secrets.tsv"
same "rotated: generation 2 holds exactly the plan's files" "$(files_below /run/secrets/)" "$(tsv_below "$S/secrets.tsv" /run/secrets)"
check "rotated: generation 1 was pruned (keepGenerations = 1)" test ! -e /run/secrets.d/1
same "rotated: activation-restart-list is exactly grafana.service and postgresql.service, once each" \
  "$(sort /run/nixos/activation-restart-list 2>&1 | tr '\n' ' ')|$(wc -l </run/nixos/activation-restart-list 2>&1)" \
  "grafana.service postgresql.service |2"
check "rotated: no activation-reload-list" test ! -e /run/nixos/activation-reload-list
check "rotated: the change lines name the rotated secrets and the template" \
  sh -c "grep -q 'postgres/password' $out && grep -q 'grafana/smtp/password' $out && grep -q 'grafana-smtp.env' $out"
check "rotated: the change lines name no unchanged secret" \
  sh -c "! grep -E 'adding|modifying|removing' $out | grep -E 'app.env|admin-password|ssh_host|smtp/user'"

echo "## switch to system 3: its sops file is corrupted (one ciphertext byte changed)"
corrupt=$(ls $STORE/*-example-v2-corrupt.yaml)
before=$(fingerprint /run/secrets.d)
rm -f $LISTS
activate corrupted setupSecrets3
same "corrupted: fails with exit 11 (secrets failed, old generation kept)" "$rc" 11
check "corrupted: the message names the sops file" grep -qF "$corrupt" "$out"
check "corrupted: the message names the secrets that failed" grep -q 'postgres/password' "$out"
same "corrupted: /run/secrets still -> generation 2" "$(readlink /run/secrets)" /run/secrets.d/2
same "corrupted: nothing in /run/secrets.d changed" "$(fingerprint /run/secrets.d)" "$before"
check "corrupted: no generation 3 left behind" test ! -e /run/secrets.d/3
expect_secrets gen2 "$S/secrets.tsv"
check "corrupted: no activation lists" no_lists

echo "## switch back to system 2: converges, nothing to do"
activate fixed setupSecrets2
same "fixed: exits 0" "$rc" 0
same "fixed: nothing in /run/secrets.d changed" "$(fingerprint /run/secrets.d)" "$before"
check "fixed: no activation lists" no_lists

# The system profile on the disk now points at system 2, as after `nixos-rebuild switch`.
echo 2 >/var/lib/keyward-qemu/system
