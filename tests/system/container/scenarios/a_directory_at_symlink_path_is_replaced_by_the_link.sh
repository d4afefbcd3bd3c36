# P10: a pre-existing /run/secrets directory (sops-nix VM-3's initrd `mkdir /run/secrets`) is
# replaced by the symlink to generation 1. (/run/mount is util-linux's, from the container's
# own mounts.)
mkdir -p /run/secrets/leftover
cat > /tmp/plan.json <<JSON
{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt", "secrets": [
  {"name": "test_key", "key": "message", "sopsFile": "/src/fixtures/corpus/yaml/simple.enc.yaml"}]}
JSON
kw /tmp/plan.json
expect_rc 0
expect_link /run/secrets /run/secrets.d/1
expect_file /run/secrets/test_key "400 0 0" "hello from keyward"
check_eq "nothing but the link and the mount left in /run" "$(cd /run && ls -A | grep -vx mount | sort | tr '\n' ' ')" "secrets secrets.d "
