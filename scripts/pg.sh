#!/usr/bin/env bash
# pg.sh starts a throw-away PostgreSQL cluster for Tuku's tests and prints its
# admin URL (use it as TUKU_TEST_POSTGRES). It keeps its own data directory and
# port so it never touches the system cluster, and it is idempotent: when the
# cluster is already up it only prints the URL.
#
#   export TUKU_TEST_POSTGRES=$(scripts/pg.sh)
#   scripts/pg.sh stop
#
# Environment: TUKU_PG_DIR (default /var/tmp/tuku-pg), TUKU_PG_PORT (55432).
# The cluster trusts loopback connections and runs with fsync off: it is for
# tests only, never for data anyone wants to keep.
set -euo pipefail

DATA=${TUKU_PG_DIR:-/var/tmp/tuku-pg}
PORT=${TUKU_PG_PORT:-55432}
URL="postgres://postgres@127.0.0.1:${PORT}/postgres?sslmode=disable"

log() { echo "pg.sh: $*" >&2; }

find_bin() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

PGBIN=$(find_bin)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
	log "installing postgresql"
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	# The system cluster Debian creates is not used; it may run or not.
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y postgresql >&2 ||
		{ $SUDO apt-get update >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y postgresql >&2; }
	PGBIN=$(find_bin)
fi

# PostgreSQL refuses to run as root: as root, run the server as the postgres
# OS user; otherwise as whoever runs this script.
if [ "$(id -u)" -eq 0 ]; then
	AS=(runuser -u postgres --)
	OWNER=postgres
else
	AS=()
	OWNER=$(id -un)
fi

if [ "${1:-}" = "stop" ]; then
	if [ -f "$DATA/postmaster.pid" ]; then
		"${AS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
	fi
	exit 0
fi

if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
	echo "$URL"
	exit 0
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
	log "initialising $DATA"
	mkdir -p "$DATA"
	chown "$OWNER" "$DATA"
	chmod 700 "$DATA"
	locale=C.UTF-8
	locale -a 2>/dev/null | grep -qi '^c\.utf-\?8$' || locale=C
	"${AS[@]}" "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale="$locale" >/dev/null
	cat >>"$DATA/postgresql.conf" <<CONF
# Added by tuku scripts/pg.sh: a test cluster, durability traded for speed.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DATA'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
fi

log "starting cluster in $DATA on 127.0.0.1:$PORT"
"${AS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start >&2 || {
	tail -n 20 "$DATA/server.log" >&2 || true
	exit 1
}
echo "$URL"
