#!/usr/bin/env bash
# Serving a stored output over HTTP: the sample API's media endpoint (a signed, expiring URL checked per request, the
# content type from the output's sidecar, ETag and Last-Modified) next to ASP.NET Core's static file middleware serving
# the same file from the same folder (MediaGen.Api.Ceiling with CEILING_STATIC_ROOT), one after the other under the same
# wrk harness. Prints requests/s and the server's CPU per request (from /proc, so wrk's share of the cores is not counted).
# Options: DURATION=10 CONNECTIONS=16 WARMUP=10 OUTPUT_COUNT=1. The job has a fixed seed, so every run serves the same image.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export MEDIAGEN_RUN_DIR=${MEDIAGEN_RUN_DIR:-$(mktemp -d -t mediagen-bench.XXXXXX)}
# shellcheck source=eng/servers/lib.sh
source eng/servers/lib.sh
trap stop_all EXIT
apt_install wrk
duration=${DURATION:-10} connections=${CONNECTIONS:-16} warmup=${WARMUP:-10}
media="$MEDIAGEN_RUN_DIR/media"
mkdir -p "$media"

log "building"
dotnet build samples/MediaGen.Samples.Api -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build benchmarks/MediaGen.Api.Ceiling -c Release -nologo -clp:ErrorsOnly >/dev/null

# start NAME DLL [ENV...]: starts the app on a free port; sets $pid and $port.
start() {
  local name=$1 dll=$2; shift 2
  port=$(free_port)
  env "$@" ASPNETCORE_URLS="http://127.0.0.1:$port" Logging__LogLevel__Default=Warning dotnet "$dll" >"$MEDIAGEN_RUN_DIR/$name.log" 2>&1 &
  pid=$!
  on_stop "kill $pid 2>/dev/null || true"
  wait_port "$port" 60
}

# measure NAME URL: warms up, then prints requests/s and the server's CPU per request over the measured run.
measure() {
  local name=$1 url=$2 ticks before after requests rps
  wrk -t1 -c"$connections" -d"${warmup}s" "$url" >/dev/null
  ticks=$(getconf CLK_TCK)
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  wrk -t1 -c"$connections" -d"${duration}s" "$url" >"$MEDIAGEN_RUN_DIR/$name.wrk"
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  requests=$(awk '/requests in/ {print $1}' "$MEDIAGEN_RUN_DIR/$name.wrk")
  rps=$(awk '/Requests\/sec/ {print $2}' "$MEDIAGEN_RUN_DIR/$name.wrk")
  if grep -q 'Non-2xx' "$MEDIAGEN_RUN_DIR/$name.wrk"; then echo "$name: non-2xx answers" >&2; cat "$MEDIAGEN_RUN_DIR/$name.wrk" >&2; exit 1; fi
  printf '%-36s %10s requests/s  %7.1f server CPU us/request\n' "$name" "$rps" "$(awk -v a="$after" -v b="$before" -v t="$ticks" -v n="$requests" 'BEGIN { print (a - b) * 1000000 / t / n }')"
}

uptime
start mediagen samples/MediaGen.Samples.Api/bin/Release/net10.0/MediaGen.Samples.Api.dll \
  MediaGen__FileSystem__RootPath="$media" MediaGen__FileSystem__UrlSigningKey=media-get-benchmark-signing-key-0123456789
base="http://127.0.0.1:$port"
id=$(curl -sf -X POST "$base/api/v1/generations" -H 'content-type: application/json' \
  -d "{\"prompt\":\"a lighthouse on a cliff at dusk\",\"model\":\"procedural\",\"outputCount\":${OUTPUT_COUNT:-1},\"seed\":7}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 100); do
  job=$(curl -sf "$base/api/v1/generations/$id")
  [[ $(python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])' <<<"$job") == succeeded ]] && break
  sleep 0.2
done
url=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["outputs"][0]["url"])' <<<"$job")
[[ $url == http* ]] || url="$base$url"
key=${url#*/media/}; key=${key%%\?*}
size=$(stat -c %s "$media/$key")
echo "output $key: $size bytes"
measure "MediaGen media endpoint" "$url"
kill "$pid"; wait "$pid" 2>/dev/null || true

start static benchmarks/MediaGen.Api.Ceiling/bin/Release/net10.0/MediaGen.Api.Ceiling.dll CEILING_STATIC_ROOT="$media"
measure "ASP.NET Core static files" "http://127.0.0.1:$port/static/$key"
kill "$pid"; wait "$pid" 2>/dev/null || true
uptime
