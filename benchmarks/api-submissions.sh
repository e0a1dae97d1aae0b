#!/usr/bin/env bash
# Submissions per second through HTTP: the sample API with the worker disabled (on Redis, and in memory), next to a
# bare ASP.NET Core endpoint that parses the same body and answers 202 (benchmarks/MediaGen.Api.Ceiling), all under
# the same wrk harness on this machine: 64 connections, 2 threads, DURATION seconds each after a WARMUP s warm-up. Also
# counts the script calls and the Redis commands (those a script runs included) each submission costs (INFO commandstats).
# Options: DURATION=10 CONNECTIONS=64 WARMUP=15; THREAD_POOL_SOCKET_MANAGER=1 also runs the API on Redis with
# RedisQueueOptions.UseThreadPoolSocketManager on. The warm-up lets tiered compilation finish on two cores: after 3 s the
# API on Redis still spent about a quarter of its CPU in the JIT during the measurement (perf), and measured 6,300-7,100
# submissions/s where it does about 9,000 once compiled.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export MEDIAGEN_RUN_DIR=${MEDIAGEN_RUN_DIR:-$(mktemp -d -t mediagen-bench.XXXXXX)}
# shellcheck source=eng/servers/lib.sh
source eng/servers/lib.sh
# shellcheck source=eng/servers/redis.sh
source eng/servers/redis.sh
trap stop_all EXIT
apt_install wrk
start_redis
duration=${DURATION:-10} connections=${CONNECTIONS:-64} warmup=${WARMUP:-15}

log "building"
dotnet build samples/MediaGen.Samples.Api -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build benchmarks/MediaGen.Api.Ceiling -c Release -nologo -clp:ErrorsOnly >/dev/null

cat >"$MEDIAGEN_RUN_DIR/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"prompt":"a lighthouse on a cliff at dusk","model":"procedural","outputCount":1}'
LUA

# run NAME DLL [ENV...]: starts the app on a free port, warms it up, measures, stops it; prints NAME and requests/s.
run() {
  local name=$1 dll=$2; shift 2
  local port pid
  port=$(free_port)
  env "$@" ASPNETCORE_URLS="http://127.0.0.1:$port" Logging__LogLevel__Default=Warning dotnet "$dll" >"$MEDIAGEN_RUN_DIR/$name.log" 2>&1 &
  pid=$!
  wait_port "$port" 60
  wrk -t2 -c"$connections" -d"${warmup}s" -s "$MEDIAGEN_RUN_DIR/post.lua" "http://127.0.0.1:$port/api/v1/generations" >/dev/null
  [[ $name == redis* ]] && redis-cli -p "${MEDIAGEN_REDIS##*:}" CONFIG RESETSTAT >/dev/null
  wrk -t2 -c"$connections" -d"${duration}s" -s "$MEDIAGEN_RUN_DIR/post.lua" "http://127.0.0.1:$port/api/v1/generations" >"$MEDIAGEN_RUN_DIR/$name.wrk"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local rps non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$MEDIAGEN_RUN_DIR/$name.wrk")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$MEDIAGEN_RUN_DIR/$name.wrk")
  printf '%-34s %12s submissions/s  non-2xx %s\n' "$name" "$rps" "${non2xx:-0}"
  if [[ $name == redis* ]]; then
    local requests
    requests=$(awk '/requests in/ {print $1}' "$MEDIAGEN_RUN_DIR/$name.wrk")
    redis-cli -p "${MEDIAGEN_REDIS##*:}" INFO commandstats | tr -d '\r' | awk -F'[:=,]' -v n="$requests" '
      /^cmdstat_/ && $1 != "cmdstat_info" && $1 != "cmdstat_config|resetstat" && $1 != "cmdstat_quit" {
        calls += $3; if ($1 ~ /^cmdstat_eval/) scripts += $3; sub("cmdstat_", "", $1); list = list " " $1 "=" $3 }
      END {
        printf "%-34s %12.2f script calls and %.2f Redis commands (those inside scripts included) per submission\n", "", scripts / n, calls / n
        printf "%-34s %s\n", "", list }'
  fi
}

uptime
api=samples/MediaGen.Samples.Api/bin/Release/net10.0/MediaGen.Samples.Api.dll
run ceiling benchmarks/MediaGen.Api.Ceiling/bin/Release/net10.0/MediaGen.Api.Ceiling.dll
run redis "$api" MediaGen__Worker__Enabled=false MediaGen__Queue__Provider=Redis MediaGen__Redis__Configuration="$MEDIAGEN_REDIS" \
  MediaGen__Redis__KeyPrefix="bench$RANDOM" MediaGen__Credits__InitialBalance=1000000000
if [ "${THREAD_POOL_SOCKET_MANAGER:-0}" != 0 ]; then
  run redis-thread-pool-socket-manager "$api" MediaGen__Worker__Enabled=false MediaGen__Queue__Provider=Redis MediaGen__Redis__Configuration="$MEDIAGEN_REDIS" \
    MediaGen__Redis__KeyPrefix="bench$RANDOM" MediaGen__Credits__InitialBalance=1000000000 MediaGen__Redis__UseThreadPoolSocketManager=true
fi
run in-memory "$api" MediaGen__Worker__Enabled=false MediaGen__Credits__InitialBalance=1000000000
uptime
