#!/usr/bin/env bash
# The whole test suite: the README's test command, and what CI runs after installing tools.
# Tiers that need tools or root say clearly when they are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${GOBIN:-$HOME/go/bin}:$PATH"
export SOPS_DISABLE_VERSION_CHECK=1

echo "== format and lints =="
cargo fmt --all -- --check
cargo clippy --release --locked --workspace --all-targets -- -D warnings

echo "== unit and integration tests (with byte-for-byte comparison against sops when installed) =="
cargo test --release --locked --workspace
