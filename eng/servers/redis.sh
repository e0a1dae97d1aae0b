# Redis for the MediaGen.Queue.Redis tests: Debian's redis-server on a free loopback port, no persistence (the
# durability tests start their own instance with appendonly). Exports MEDIAGEN_REDIS=127.0.0.1:PORT.

start_redis() {
  apt_install redis-server
  local port dir
  port=$(free_port)
  dir="$MEDIAGEN_RUN_DIR/redis"
  mkdir -p "$dir"
  on_stop "kill \$(cat '$dir/redis.pid') 2>/dev/null"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" >/dev/null
  wait_port "$port" 30
  export MEDIAGEN_REDIS="127.0.0.1:$port"
  log "redis-server listens on $MEDIAGEN_REDIS"
}

MEDIAGEN_SERVERS+=(redis)
