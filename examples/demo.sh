#!/usr/bin/env bash
# The README's first command: build keyward and show it on the bundled example host.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
kw=target/release/keyward
export SOPS_AGE_KEY_FILE=hosts/example/test-age-key.txt   # test material, see hosts/example/README.md

echo "\$ keyward decrypt --extract '[\"postgres\"][\"password\"]' secrets/example.yaml"
"$kw" decrypt --extract '["postgres"]["password"]' secrets/example.yaml
echo
echo "\$ keyward decrypt secrets/app.env"
"$kw" decrypt secrets/app.env
