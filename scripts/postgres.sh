#!/usr/bin/env bash
# Private PostgreSQL cluster for development and tests.
#
# Usage: scripts/postgres.sh start|stop|status|wait-ready|url|psql|reset
#   start       start the cluster (initdb + role/database on first use); no-op when it is
#               already running, or when any server on PGPORT accepts the recaudit login
#   wait-ready  poll until a login as recaudit over TCP works, fail after PG_READY_TIMEOUT s
#   stop        fast shutdown of this checkout's cluster (never touches a foreign server)
#   status      exit 0 if the cluster (or a server accepting the recaudit login) is up, 3 if not
#   url         print the connection URL
#   psql        open psql on that URL (extra arguments are passed on)
#   reset       stop and delete the cluster's files
#
# Environment:
#   PGPORT            TCP port on 127.0.0.1 (default 55432)
#   PG_READY_TIMEOUT  wait-ready / start deadline in seconds (default 60)
#
# Server binaries: taken from /usr/lib/postgresql/<newest version>/bin; when none are
# installed and we are root on Debian, 'apt-get install -y postgresql' installs them.
#
# Where the cluster lives (data/, log/, run/ with the unix socket):
#   * normally in .pg/ at the repository root (git-ignored);
#   * when we are root, the server has to run as the 'postgres' OS user (PostgreSQL refuses
#     to run as root). If that user cannot reach .pg/ -- e.g. the checkout is under /root
#     (mode 700), or any other parent directory lacks the search bit for it -- the cluster
#     goes to /var/tmp/recaudit-pg-<hash of the repo path> instead. Changing permissions of
#     directories outside the repository (chmod o+x on parents) is deliberately avoided:
#     it would silently widen access to other people's files. The same fallback is used
#     when the unix socket path inside .pg/ would exceed the ~107 byte limit of
#     sockaddr_un. .pg/cluster-location then records where the cluster is.
#
# The cluster is tuned for tests, not durability: fsync, full_page_writes and
# synchronous_commit are off (a crash of the whole machine may corrupt it -- run 'reset').
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${PGPORT:-55432}"
READY_TIMEOUT="${PG_READY_TIMEOUT:-60}"
DB_USER=recaudit
DB_PASS=recaudit
DB_NAME=recaudit
URL="postgresql://${DB_USER}:${DB_PASS}@127.0.0.1:${PORT}/${DB_NAME}"
LOCAL_BASE="$ROOT/.pg"
FALLBACK_BASE="/var/tmp/recaudit-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"

say() { echo "postgres: $*"; }
die() { echo "postgres: ERROR: $*" >&2; exit 1; }

IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1

# ---------------------------------------------------------------------------------------
# binaries
# ---------------------------------------------------------------------------------------

find_bindir() {
  local d best=""
  # newest major version that has a server (postgres + initdb + pg_ctl)
  while IFS= read -r d; do
    if [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then best="$d"; fi
  done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V)
  [ -n "$best" ] && echo "$best"
}

BIN=""
ensure_binaries() {
  [ -n "$BIN" ] && return 0
  if ! BIN="$(find_bindir)"; then
    if [ "$IS_ROOT" != 1 ] || ! command -v apt-get >/dev/null 2>&1; then
      die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; install the 'postgresql' package"
    fi
    say "server binaries missing: running apt-get install -y postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq postgresql >/dev/null
    BIN="$(find_bindir)" || die "apt-get installed postgresql but no server binaries were found"
  fi
  if [ "$IS_ROOT" = 1 ] && ! id -u postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /var/lib/postgresql \
            --shell /usr/sbin/nologin postgres
  fi
}

# psql for probing: the one next to the server if we have it, else any on PATH.
psql_bin() {
  local b
  if b="$(find_bindir)" && [ -x "$b/psql" ]; then echo "$b/psql"; return 0; fi
  command -v psql
}

# Run a command as the cluster owner: the postgres OS user when we are root, else ourselves.
# cd / first so a root-only working directory does not produce warnings.
as_owner() {
  if [ "$IS_ROOT" = 1 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# ---------------------------------------------------------------------------------------
# location of the cluster
# ---------------------------------------------------------------------------------------

socket_path_ok() {  # unix socket paths are limited to 107 bytes
  local p="$1/run/.s.PGSQL.$PORT"
  [ "${#p}" -le 100 ]
}

owner_can_use() {  # can the cluster owner reach (and so create/own) $1?
  [ "$IS_ROOT" = 1 ] || return 0
  local parent
  parent="$(dirname "$1")"
  (cd / && runuser -u postgres -- test -x "$parent") 2>/dev/null
}

choose_base() {
  # An existing cluster wins, so the choice never flips between runs.
  if [ -f "$LOCAL_BASE/data/PG_VERSION" ]; then echo "$LOCAL_BASE"; return; fi
  if [ "$IS_ROOT" = 1 ] && [ -f "$FALLBACK_BASE/data/PG_VERSION" ]; then echo "$FALLBACK_BASE"; return; fi
  if socket_path_ok "$LOCAL_BASE" && owner_can_use "$LOCAL_BASE"; then
    echo "$LOCAL_BASE"
  else
    echo "$FALLBACK_BASE"
  fi
}

BASE=""
set_paths() {
  BASE="$(choose_base)"
  PGDATA_DIR="$BASE/data"
  RUN_DIR="$BASE/run"
  LOG_DIR="$BASE/log"
}

prepare_dirs() {
  mkdir -p "$BASE" "$RUN_DIR" "$LOG_DIR"
  chmod 700 "$BASE" "$RUN_DIR"
  if [ "$IS_ROOT" = 1 ]; then
    chown -R postgres:postgres "$BASE"
  fi
  if [ "$BASE" != "$LOCAL_BASE" ]; then
    mkdir -p "$LOCAL_BASE"
    printf '%s\n' "$BASE" > "$LOCAL_BASE/cluster-location"
  fi
}

# ---------------------------------------------------------------------------------------
# probes
# ---------------------------------------------------------------------------------------

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# Does a server on PORT accept the recaudit login over TCP?
login_ok() {
  local psql
  psql="$(psql_bin)" || return 1
  PGCONNECT_TIMEOUT=3 "$psql" "$URL" -XAtqc 'select 1' >/dev/null 2>&1
}

# pid of this checkout's postmaster if it is running.
our_pid() {
  [ -n "$BASE" ] || set_paths
  local f="$PGDATA_DIR/postmaster.pid" pid
  [ -f "$f" ] || return 1
  pid="$(head -n1 "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null | xargs -r basename)" = postgres ] || return 1
  echo "$pid"
}

superuser_psql() {  # psql (script on stdin) as the bootstrap superuser over the private socket
  as_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR" -p "$PORT" -U postgres -d postgres
}

# ---------------------------------------------------------------------------------------
# cluster lifecycle
# ---------------------------------------------------------------------------------------

init_cluster() {
  [ -f "$PGDATA_DIR/PG_VERSION" ] && return 0
  say "initdb in $PGDATA_DIR"
  rm -rf "$PGDATA_DIR"
  # Local (unix socket) connections are trusted: the socket directory is mode 700, so only
  # the cluster owner (and root) can use it. TCP logins need a SCRAM password.
  as_owner "$BIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 > "$LOG_DIR/initdb.log" 2>&1 \
    || { cat "$LOG_DIR/initdb.log" >&2; rm -rf "$PGDATA_DIR"; die "initdb failed"; }
  echo "include_if_exists = 'recaudit.conf'" >> "$PGDATA_DIR/postgresql.conf"
}

# Settings rewritten on every start, so a changed PGPORT or location takes effect.
write_settings() {
  local f="$PGDATA_DIR/recaudit.conf"
  cat > "$f" <<CONF
# Generated by scripts/postgres.sh on every start.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$RUN_DIR'
unix_socket_permissions = 0700
max_connections = 100
shared_buffers = 128MB
# test cluster: speed over crash safety
fsync = off
full_page_writes = off
synchronous_commit = off
logging_collector = off
log_min_messages = warning
log_connections = off
log_disconnections = off
CONF
  [ "$IS_ROOT" = 1 ] && chown postgres:postgres "$f"
  chmod 600 "$f"
}

bootstrap_role_and_db() {
  superuser_psql <<SQL
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', '$DB_USER', '$DB_PASS')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') \gexec
ALTER ROLE $DB_USER WITH LOGIN CREATEDB PASSWORD '$DB_PASS';
SELECT format('CREATE DATABASE %I OWNER %I', '$DB_NAME', '$DB_USER')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME') \gexec
SQL
}

cmd_start() {
  set_paths
  local pid
  if pid="$(our_pid)"; then
    ensure_binaries
    bootstrap_role_and_db
    say "already running (pid $pid, 127.0.0.1:$PORT, cluster in $BASE)"
    return 0
  fi
  if port_open; then
    if ! psql_bin >/dev/null 2>&1; then ensure_binaries; fi   # need psql to probe
    if login_ok; then
      say "a server on 127.0.0.1:$PORT already accepts the $DB_USER login: using it"
      return 0
    fi
    die "port $PORT is in use by something that does not accept $URL (choose another PGPORT)"
  fi

  ensure_binaries
  prepare_dirs
  init_cluster
  write_settings
  rm -f "$PGDATA_DIR/postmaster.pid"   # stale after a crash; our_pid said it is not running
  # pg_ctl -w returns once the server accepts connections (or fails after -t seconds).
  if ! as_owner "$BIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_DIR/postgres.log" \
        -w -t "$READY_TIMEOUT" -s start; then
    tail -n 30 "$LOG_DIR/postgres.log" >&2 || true
    die "server did not start (log: $LOG_DIR/postgres.log)"
  fi
  bootstrap_role_and_db
  say "started (pid $(our_pid || echo '?'), 127.0.0.1:$PORT, cluster in $BASE)"
}

cmd_stop() {
  set_paths
  local pid
  if ! pid="$(our_pid)"; then
    if port_open; then
      say "not running here (port $PORT is served by another server, left alone)"
    else
      say "not running"
    fi
    return 0
  fi
  ensure_binaries
  as_owner "$BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 -s stop
  say "stopped (pid $pid)"
}

cmd_status() {
  set_paths
  local pid
  if pid="$(our_pid)"; then
    say "running (pid $pid, 127.0.0.1:$PORT, cluster in $BASE)"
    return 0
  fi
  if port_open && login_ok; then
    say "reachable on 127.0.0.1:$PORT (a server not managed by this script)"
    return 0
  fi
  say "stopped"
  return 3
}

cmd_wait_ready() {
  local deadline=$((SECONDS + ${READY_TIMEOUT%.*}))
  psql_bin >/dev/null 2>&1 || die "psql not found (run: scripts/postgres.sh start)"
  while :; do
    if login_ok; then
      say "ready: $URL"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      set_paths
      [ -f "$LOG_DIR/postgres.log" ] && tail -n 20 "$LOG_DIR/postgres.log" >&2
      die "no login as $DB_USER on 127.0.0.1:$PORT within ${READY_TIMEOUT}s (is it started?)"
    fi
    sleep 0.2
  done
}

cmd_reset() {
  cmd_stop
  set_paths
  rm -rf "$LOCAL_BASE"
  [ "$IS_ROOT" = 1 ] && rm -rf "$FALLBACK_BASE"
  say "cluster files deleted"
}

case "${1:-}" in
  start)      cmd_start ;;
  stop)       cmd_stop ;;
  status)     cmd_status ;;
  wait-ready) cmd_wait_ready ;;
  url)        echo "$URL" ;;
  psql)       shift; exec "$(psql_bin || die 'psql not found')" "$URL" "$@" ;;
  reset)      cmd_reset ;;
  *) echo "usage: $0 start|stop|status|wait-ready|url|psql|reset" >&2; exit 2 ;;
esac
