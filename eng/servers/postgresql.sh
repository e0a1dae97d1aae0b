# PostgreSQL for the MediaGen.PostgreSql tests: Debian's PostgreSQL 15, a throw-away cluster in a temp dir on a free
# loopback port, run as the postgres user (it refuses to run as root), trust authentication, fsync off (the durability
# tests start their own cluster with fsync on). Exports MEDIAGEN_POSTGRES (an Npgsql connection string) and
# MEDIAGEN_POSTGRES_BIN (the server's binaries, for tests that start a cluster of their own). Sourced by eng/test.sh.
# MEDIAGEN_POSTGRES_SETTINGS adds server options (later ones win), as the benchmark does: "-c fsync=on ...".

MEDIAGEN_POSTGRES_BIN=${MEDIAGEN_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}

# _postgres_stop PIDFILE: stops the postmaster whose pid is the first line of PIDFILE (fast shutdown), and waits.
_postgres_stop() {
  local pid i
  pid=$(head -n 1 "$1" 2>/dev/null) || return 0
  [[ -n $pid ]] || return 0
  kill -INT "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

start_postgresql() {
  [[ -x $MEDIAGEN_POSTGRES_BIN/initdb ]] || apt_install postgresql
  local dir="$MEDIAGEN_RUN_DIR/postgresql" port
  port=$(free_port)
  mkdir -p "$dir"
  chown postgres: "$dir" 2>/dev/null || true
  # The run dir may sit under a directory the postgres user cannot enter (mktemp makes it 0700).
  chmod o+x "$MEDIAGEN_RUN_DIR" 2>/dev/null || true
  on_stop "_postgres_stop '$dir/data/postmaster.pid'"
  _postgres_as_owner "$MEDIAGEN_POSTGRES_BIN/initdb" -D "$dir/data" -A trust -U mediagen -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  _postgres_as_owner "$MEDIAGEN_POSTGRES_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 -o \
    "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 ${MEDIAGEN_POSTGRES_SETTINGS:-}" \
    start >/dev/null || { cat "$dir/log" >&2; return 1; }
  wait_port "$port" 30
  export MEDIAGEN_POSTGRES="Host=127.0.0.1;Port=$port;Username=mediagen;Database=postgres"
  export MEDIAGEN_POSTGRES_BIN
  log "postgresql listens on 127.0.0.1:$port"
}

# _postgres_as_owner CMD...: runs CMD as the postgres user when this script runs as root, else as the current user.
_postgres_as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

MEDIAGEN_SERVERS+=(postgresql)
