# Invariant 6: the same plan, sops files and identities with the generation intact: exit 0,
# no new generation, the same inode and mtime of the generation directory and of every file,
# no change lines, no unit actions; a damaged generation (a file removed by hand) is not
# "unchanged" and is repaired by a new generation.
mkdir -p /run/nixos
cp hosts/example/plan.json /tmp/plan.json
kw /tmp/plan.json
expect_rc 0
snap=$(snapshot /run/secrets.d /run/secrets /etc/ssh /run/nixos)
ino=$(stat -c %i /run/secrets.d/1)
kw /tmp/plan.json
expect_rc 0
expect_err_has "unchanged"
expect_changes ""
expect_link /run/secrets /run/secrets.d/1
check_eq "generation dir inode" "$(stat -c %i /run/secrets.d/1)" "$ino"
check_eq "whole tree unchanged" "$(snapshot /run/secrets.d /run/secrets /etc/ssh /run/nixos)" "$snap"

say "a file removed by hand: not unchanged"
rm /run/secrets.d/1/postgres/password
kw /tmp/plan.json
expect_rc 0
expect_link /run/secrets /run/secrets.d/2
expect_file /run/secrets/postgres/password "400 71 71" "correct-horse-battery-staple"
