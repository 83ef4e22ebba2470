#!/usr/bin/env bash
# A private PostgreSQL for the tests: Debian's postgresql, its own data directory and port on
# 127.0.0.1, run as the `postgres` user when started by root (CI runs as root; PostgreSQL refuses
# to run as root). Prints the URL to give the tests as HOTLINE_TEST_POSTGRES. The default port lies
# below the ephemeral range, so that no outgoing connection can hold it when PostgreSQL starts.
#
#   scripts/postgres.sh start     # initdb + start; prints postgres://hotline@127.0.0.1:PORT/postgres
#   scripts/postgres.sh stop
set -euo pipefail
DATA=${HOTLINE_PG_DATA:-/tmp/hotline-pg}
PORT=${HOTLINE_PG_PORT:-25432}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] || { echo "PostgreSQL is not installed (Debian: apt-get install postgresql)" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
case "${1:-start}" in
  start)
    rm -rf "$DATA"; mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres "$DATA"
    as_owner "$PGBIN/initdb -D $DATA -A trust -U hotline -E UTF8 >/dev/null"
    as_owner "$PGBIN/pg_ctl -D $DATA -l $DATA/server.log -w -o \"-p $PORT -k /tmp -c listen_addresses=127.0.0.1\" start >/dev/null"
    echo "postgres://hotline@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    as_owner "$PGBIN/pg_ctl -D $DATA -m fast -w stop >/dev/null" || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
