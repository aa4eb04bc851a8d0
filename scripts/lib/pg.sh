# shellcheck shell=bash
# Sourced by scripts/demo_replicas.sh: a throwaway PostgreSQL 15 server
# (Debian's postgresql-15, which scripts/setup.sh installs) in a folder of
# its own, as tests/gateway/store/postgres_server.cc starts one for the
# tests. It listens on a Unix socket in that folder only (no TCP port), so
# it never clashes with a system cluster, a test's server or another run.
# Run as root, the server runs as Debian's unprivileged `postgres` user
# (initdb refuses root).
#
#   pg_start DIR DB ROLE   initdb into DIR/data, the server started with
#                          its socket in DIR and its log in DIR/server.log,
#                          and database DB owned by a login role ROLE made;
#                          sets PG_DSN (for ROLE on DB) and PG_DIR
#   pg_sql SQL             runs SQL on the database as PG_DSN; prints rows
#                          unaligned, without headers
#   pg_stop                stops the server (fast: sessions are ended);
#                          safe to call when it is not running
#
# Authentication is "trust": any local user who can reach the socket may
# connect as any role. That is for a throwaway demo server only; the socket
# folder is 0700, so only its owner (and root) can reach it.
pg_bin=/usr/lib/postgresql/15/bin
PG_DIR=""
PG_DSN=""

# pg_as COMMAND...: COMMAND as the server's user (postgres when we are root).
pg_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  local dir="$1" db="$2" role="$3"
  if [ ! -x "$pg_bin/initdb" ] || [ ! -x "$pg_bin/pg_ctl" ]; then
    echo "pg: PostgreSQL 15's server is not installed (no $pg_bin/initdb): run scripts/setup.sh as root" >&2
    return 1
  fi
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  PG_DIR="$dir"
  pg_as "$pg_bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; echo "pg: initdb failed" >&2; return 1; }
  # -w: pg_ctl returns once the server accepts connections (at most -t s).
  pg_as "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -c listen_addresses= -c unix_socket_permissions=0700" start >/dev/null ||
    { tail -20 "$dir/server.log" >&2; echo "pg: the server did not start" >&2; return 1; }
  "$pg_bin/psql" "host=$dir dbname=postgres user=postgres" -X -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE \"$role\" LOGIN" -c "CREATE DATABASE \"$db\" OWNER \"$role\"" >/dev/null
  PG_DSN="host=$dir dbname=$db user=$role"
}

pg_sql() {
  "$pg_bin/psql" "$PG_DSN" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"
}

pg_stop() {
  [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
  pg_as "$pg_bin/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 20 stop >/dev/null 2>&1 && return 0
  # pg_ctl could not stop it: the postmaster by its pid (first line of
  # postmaster.pid), immediate shutdown.
  local pid
  pid="$(head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null || true)"
  if [ -n "$pid" ]; then kill -QUIT "$pid" 2>/dev/null || true; fi
}
