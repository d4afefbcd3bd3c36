# Boot 2: the same machine rebooted. The disk kept the sops files, the plans, the age key and
# the system profile (system 2); /run is a fresh tmpfs, so the ramfs and every generation are
# gone. keyward is run as a systemd unit's ExecStart would run it (no snippet): the for-users
# plan with --numeric-ids before /etc/passwd exists, then the users, then the regular plan.
STORE=/nix/store
P=0000000000000000000000000000000

echo "## reboot: what survived"
check "reboot: /run is fresh (no /run/secrets, no secrets mount)" \
  sh -c '! [ -e /run/secrets ] && ! [ -L /run/secrets ] && ! grep -q /run/secrets /proc/mounts'
sys=$(cat /var/lib/keyward-qemu/system 2>&1)
same "reboot: the disk kept the system profile (system 2) across the power-off" "$sys" 2
check "reboot: the age key is still on the disk" test -s /var/lib/sops-nix/key.txt
check "reboot: no /etc/passwd yet" test ! -e /etc/passwd

echo "## reboot: for-users before users"
install_ for-users --numeric-ids "$STORE/${P}1-keyward-plan-for-users.json"
same "reboot for-users: keyward install --numeric-ids exits 0" "$rc" 0
check "reboot for-users: a new ramfs on /run/secrets-for-users.d" mounted_as /run/secrets-for-users.d ramfs
same "reboot for-users: /run/secrets-for-users -> generation 1" "$(readlink /run/secrets-for-users)" /run/secrets-for-users.d/1
expect_secrets gen1 "$S/for-users.tsv"
check "reboot for-users: installed while /etc/passwd does not exist" test ! -e /etc/passwd

echo "## reboot: users, then the current system's plan"
create_users
mkdir -p /run/nixos
install_ system "$STORE/${P}${sys}-keyward-plan.json"
same "reboot: keyward install exits 0" "$rc" 0
check "reboot: a new ramfs on /run/secrets.d" mounted_as /run/secrets.d ramfs
same "reboot: /run/secrets -> generation 1 of the new ramfs" "$(readlink /run/secrets)" /run/secrets.d/1
expect_secrets "gen$sys" "$S/secrets.tsv"
same "reboot: the generation holds exactly the plan's files" "$(files_below /run/secrets/)" "$(tsv_below "$S/secrets.tsv" /run/secrets)"
check "reboot: nothing restarted at boot (no activation lists)" \
  sh -c '! [ -e /run/nixos/activation-restart-list ] && ! [ -e /run/nixos/activation-reload-list ]'
check "reboot: no change lines at boot" sh -c "! grep -E 'adding|modifying|removing' $out"
