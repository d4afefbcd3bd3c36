# P9: a `path` outside /run/secrets becomes a symlink through the stable /run/secrets link
# (resolving to /run/secrets.d/1/<name>), replacing a file already there; directories keyward
# creates for links get pathDirectories' owner and mode, existing ones are not touched.
F=/src/fixtures/corpus/yaml/simple.enc.yaml
mkdir -p /run/existing && echo "old content" > /run/existing/file
mkdir -p -m 0700 /etc/kept && chown 1000:1000 /etc/kept
cat > /tmp/plan.json <<JSON
{"version": 1, "ageKeyFile": "/src/fixtures/keys/age/key1.txt",
 "pathDirectories": {"owner": "svc", "group": "svcgroup", "mode": "0750"},
 "secrets": [
  {"name": "existing-file", "key": "message", "sopsFile": "$F", "path": "/run/existing/file"},
  {"name": "deep", "key": "nested/secret", "sopsFile": "$F", "path": "/etc/new/a/b/deep.key", "owner": "svc"},
  {"name": "kept", "key": "nested/secret", "sopsFile": "$F", "path": "/etc/kept/k"}
]}
JSON
kw /tmp/plan.json
expect_rc 0
expect_link /run/existing/file /run/secrets/existing-file
check_eq "readlink -f /run/existing/file" "$(readlink -f /run/existing/file)" /run/secrets.d/1/existing-file
expect_file /run/secrets.d/1/existing-file "400 0 0" "hello from keyward"
check_eq "content through the link" "$(cat /run/existing/file)" "hello from keyward"
expect_link /etc/new/a/b/deep.key /run/secrets/deep
expect_file /run/secrets/deep "400 2000 0" "s3cr3t"
expect_dir /etc/new "750 2000 2001"
expect_dir /etc/new/a "750 2000 2001"
expect_dir /etc/new/a/b "750 2000 2001"
expect_dir /etc/kept "700 1000 1000"
expect_link /etc/kept/k /run/secrets/kept
expect_dir /run/existing "755 0 0"
no_plaintext_outside /run/secrets.d "hello from keyward" "s3cr3t" "old content"
