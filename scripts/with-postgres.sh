#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: initdb into a temporary folder (as an
# unprivileged user when run as root), listening on 127.0.0.1 at a free port and on a socket in
# that folder, then stopped and removed when the command ends, fails, or the script is
# interrupted. The command sees
#   FERRYSYNC_TEST_POSTGRES   postgres://ferrysync@127.0.0.1:PORT/ferrysync
# PostgreSQL comes from Debian's packages (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/setup.sh" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/ferrysync-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" = 0 ]; then
  chown nobody "$dir"
  as_owner=(runuser -u nobody --)
fi
# Runs a PostgreSQL tool as the cluster's owner, from a folder that owner can read.
pg() { (cd "$dir" && "${as_owner[@]}" "$bindir/$1" "${@:2}"); }

cmd=""
stop() {
  if [ -n "$cmd" ]; then kill "$cmd" 2>/dev/null || true; wait "$cmd" 2>/dev/null || true; fi
  if [ -f "$dir/data/postmaster.pid" ]; then
    pg pg_ctl -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg initdb -D "$dir/data" --username=ferrysync --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# Throwaway data: durability settings are the defaults, so that the tests see what production does.
pg pg_ctl -D "$dir/data" -w -t 60 -l "$dir/server.log" \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=300" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
pg psql -h 127.0.0.1 -p "$port" -U ferrysync -d postgres -qc 'CREATE DATABASE ferrysync' >/dev/null

export FERRYSYNC_TEST_POSTGRES="postgres://ferrysync@127.0.0.1:$port/ferrysync"
echo "throwaway PostgreSQL: $FERRYSYNC_TEST_POSTGRES"
# In the background and waited for, so that a signal is handled at once (the command stopped
# with the cluster) instead of after the command ends.
"$@" &
cmd=$!
wait "$cmd"
status=$?
cmd=""
exit "$status"
