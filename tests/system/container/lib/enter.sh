# PID 1 of a container (inside the chroot): a tmpfs /run like a booted system's, a minimal
# /dev, the test users, then the scenario (or crash run) given as $1. Its status is ours.
set -u
mount -t tmpfs -o mode=0755,nosuid,nodev run /run || exit 90
mount -t tmpfs -o mode=0755,nosuid dev /dev || exit 90
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/urandom c 1 9; mknod -m 666 /dev/random c 1 8
ln -s /proc/self/fd /dev/fd
: > /tmp/kw.out; : > /tmp/kw.err   # made now, so later runs do not change /tmp itself
# the container's own users: names, and ids with a user; 1001 and 4242 have no user
cat > /etc/passwd <<'P'
root:x:0:0:root:/root:/bin/sh
someuser:x:1000:1000:someuser:/var/empty:/bin/false
postgres:x:71:71:PostgreSQL:/var/lib/postgresql:/bin/false
grafana:x:196:196:Grafana:/var/lib/grafana:/bin/false
svc:x:2000:2001:svc:/var/empty:/bin/false
P
cat > /etc/group <<'G'
root:x:0:
keys:x:96:
somegroup:x:1000:
postgres:x:71:
grafana:x:196:
svcgroup:x:2001:
G
cd /src || exit 90
script=$1; shift
. /harness/lib/inside.sh
. "$script" "$@"
finish
