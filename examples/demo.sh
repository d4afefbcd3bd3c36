#!/usr/bin/env bash
# The README's first command: build keyward, then install the example host's secrets (its
# checked-in plan, made by the Nix plan function from hosts/example) into a temporary root,
# without root privileges, and show what an operator sees: the change lines, the tree with
# modes, a second run that does nothing, and the metrics.
#
# The age key is TEST MATERIAL (hosts/example/README.md). Nothing is written outside the
# temporary root; nothing is mounted.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --locked
kw=$PWD/target/release/keyward

root=$(mktemp -d "${TMPDIR:-/tmp}/keyward-demo.XXXXXX")
trap 'rm -rf "$root"' EXIT
# The example host's users and groups, as the installer reads them below the root, and the
# directory where NixOS's switch collects units to restart (keyward appends to its lists).
mkdir -p "$root/etc" "$root/run/nixos"
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
postgres:x:71:71:PostgreSQL:/var/lib/postgresql:/bin/sh
grafana:x:196:196:Grafana:/var/lib/grafana:/bin/sh
alice:x:1000:100:Alice:/home/alice:/bin/sh
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
users:x:100:
postgres:x:71:
grafana:x:196:
GROUP

show() { printf '\n$ %s\n' "$*"; "$@"; }

echo "Installing hosts/example/plan.json into $root"
show "$kw" check --sops-files hosts/example/plan.json
show "$kw" install --root "$root" --numeric-ids hosts/example/plan-for-users.json
show "$kw" install --root "$root" hosts/example/plan.json

printf '\n$ the tree below the root (mode, owner:group, path [-> link target])\n'
(cd "$root" && find . -path ./etc/passwd -prune -o -path ./etc/group -prune -o -print | sort | while read -r p; do
  printf '%s %s:%s %s%s\n' "$(stat -c %A "$p")" "$(stat -c %u "$p")" "$(stat -c %g "$p")" "${p#.}" \
    "$([ -L "$p" ] && printf ' -> %s' "$(readlink "$p")")"
done)

printf '\n$ cat %s\n' "/run/secrets/rendered/grafana-smtp.env (a rendered template)"
cat "$root/run/secrets/rendered/grafana-smtp.env"

show "$kw" install --root "$root" hosts/example/plan.json

# A change: postgres/password now comes from another key of the file, so its bytes change;
# generation 2 is made and postgresql.service is queued for a restart.
sed 's|"key": "postgres/password"|"key": "grafana/admin-password"|' hosts/example/plan.json > "$root/plan-changed.json"
show "$kw" install --root "$root" "$root/plan-changed.json"
show cat "$root/run/nixos/activation-restart-list"
show readlink "$root/run/secrets"

printf '\n$ cat /var/lib/prometheus-node-exporter-text-files/keyward.prom\n'
cat "$root/var/lib/prometheus-node-exporter-text-files/keyward.prom"
