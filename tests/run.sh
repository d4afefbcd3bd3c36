#!/usr/bin/env bash
# The whole test suite: the README's test command, and what CI runs after installing its tools
# (.ci/run). Tiers that need a tool, root or a nixpkgs checkout say clearly when they skip.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${GOBIN:-$HOME/go/bin}:$PATH"
export SOPS_DISABLE_VERSION_CHECK=1

echo "== format and lints =="
cargo fmt --all -- --check
cargo clippy --release --locked --workspace --all-targets -- -D warnings

echo "== Rust: unit, integration, corpus (and live sops comparison when sops 3.13.2 is installed) =="
cargo test --release --locked --workspace

echo "== Nix: every file parses, plan function golden files, Nix -> keyward check round trip =="
if command -v nix-instantiate >/dev/null 2>&1; then
  cargo build --release --locked --quiet
  KEYWARD_BIN="$PWD/target/release/keyward" bash tests/nix/run.sh
elif [ -n "${CI:-}" ]; then
  echo "nix-instantiate is missing in CI (.ci/run installs nix-bin)" >&2
  exit 1
else
  echo "SKIPPED: Nix tests (install nix-bin: apt-get install nix-bin)"
fi

echo "== container tier: the real binary as root in unshare + chroot, real ramfs; crash safety under kill -9 =="
bash tests/system/container/run.sh

echo "== QEMU tier: a Debian kernel boots keyward (first boot, switches, corruption, reboot, for-users) =="
bash tests/system/qemu/run.sh
