# sops-nix #235/#574 fixed: a `path` link the new plan no longer names is removed (the
# directories keyward made for it stay); a link still named is kept; a file at a path that
# is not keyward's link is left alone.
F=/src/fixtures/corpus/yaml/simple.enc.yaml
plan() { # the secrets' JSON list
  echo "{\"version\": 1, \"ageKeyFile\": \"/src/fixtures/keys/age/key1.txt\", \"secrets\": [$1]}" > /tmp/plan.json; }
A="{\"name\": \"a\", \"key\": \"message\", \"sopsFile\": \"$F\", \"path\": \"/etc/app/a.key\"}"
B="{\"name\": \"b\", \"key\": \"message\", \"sopsFile\": \"$F\", \"path\": \"/etc/app/b.key\"}"
Bmoved="{\"name\": \"b\", \"key\": \"message\", \"sopsFile\": \"$F\", \"path\": \"/etc/other/b.key\"}"
plan "$A, $B"
kw /tmp/plan.json
expect_rc 0
expect_link /etc/app/a.key /run/secrets/a
expect_link /etc/app/b.key /run/secrets/b

say "b moves to another path, a is dropped"
plan "$Bmoved"
kw /tmp/plan.json
expect_rc 0
expect_link /run/secrets /run/secrets.d/2
expect_absent /etc/app/a.key
expect_absent /etc/app/b.key
expect_link /etc/other/b.key /run/secrets/b
expect_dir /etc/app "755 0 0"
expect_absent /run/secrets.d/2/a
expect_changes "removing secret: a"

say "a path now held by the operator's own file is not removed"
plan "$A"
kw /tmp/plan.json
expect_rc 0
expect_link /etc/app/a.key /run/secrets/a
rm /etc/other/b.key; echo mine > /etc/other/b.key
plan ""
kw /tmp/plan.json
expect_rc 0
expect_absent /etc/app/a.key
expect_file /etc/other/b.key "644 0 0" "mine
"
