#!/usr/bin/env bash
# MediaGen's Redis queue against BullMQ, in one run on one redis-server started here (no persistence, loopback):
# no-op jobs, 20,000 jobs at concurrency 1, 16 and 256 (jobs/s end to end, client and Redis CPU per job), and
# enqueue-to-start p50/p99 at a steady 1,000 jobs/s. Prints both sides' JSON lines and a table.
# Options: JOBS=20000 CONCURRENCY=1,16,256 RATE=1000 LATENCY_SECONDS=10 PIPELINE_JOBS=20000 (0 skips the full pipeline)
# PIPELINE_CONCURRENCY=16 (the full pipeline's worker concurrency)
# SOCKET_MANAGER=threadpool: MediaGen's connections complete Redis's answers on .NET's thread pool
# (RedisQueueOptions.UseThreadPoolSocketManager, the setting for worker hosts) instead of StackExchange.Redis's threads.
# RETENTION_SECONDS=20 (0 skips the bounded-state run: jobs at a steady rate, 2 s finished-job retention).
# PIPELINE_STORAGE=files (or discard: outputs are read and dropped, to measure the Redis pipeline without the file system).
# The full pipeline runs twice: with the runtime's defaults, and with the thread pool's idle spinning turned off
# (DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0, a host setting; see the README's "Tuning a worker host"). PIPELINE_SPIN0=0
# skips the second run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export MEDIAGEN_RUN_DIR=${MEDIAGEN_RUN_DIR:-$(mktemp -d -t mediagen-bench.XXXXXX)}
# shellcheck source=eng/servers/lib.sh
source eng/servers/lib.sh
# shellcheck source=eng/servers/redis.sh
source eng/servers/redis.sh
trap stop_all EXIT
start_redis

jobs=${JOBS:-20000} concurrency=${CONCURRENCY:-1,16,256} rate=${RATE:-1000} seconds=${LATENCY_SECONDS:-10} pipeline=${PIPELINE_JOBS:-20000} retention=${RETENTION_SECONDS:-20}
log "building the .NET side"
dotnet build benchmarks/MediaGen.Redis.Benchmarks -c Release -nologo -clp:ErrorsOnly >/dev/null
log "installing the Node side"
(cd benchmarks/bullmq && npm ci --no-audit --no-fund --silent)

out="$MEDIAGEN_RUN_DIR/results.jsonl"
: >"$out"
socket_manager=--default-socket-manager
if [ "${SOCKET_MANAGER:-}" = threadpool ]; then socket_manager=--thread-pool-socket-manager; fi
log "running MediaGen"
dotnet benchmarks/MediaGen.Redis.Benchmarks/bin/Release/net10.0/MediaGen.Redis.Benchmarks.dll --redis "$MEDIAGEN_REDIS" "$socket_manager" \
  --jobs "$jobs" --concurrency "$concurrency" --rate "$rate" --latency-seconds "$seconds" --pipeline-jobs "$pipeline" --pipeline-concurrency "${PIPELINE_CONCURRENCY:-16}" --pipeline-storage "${PIPELINE_STORAGE:-files}" --retention-run-seconds "$retention" | tee -a "$out"
if [ "$pipeline" != 0 ] && [ "${PIPELINE_SPIN0:-1}" != 0 ]; then
  log "running MediaGen's full pipeline again, thread-pool spinning off"
  DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 dotnet benchmarks/MediaGen.Redis.Benchmarks/bin/Release/net10.0/MediaGen.Redis.Benchmarks.dll \
    --redis "$MEDIAGEN_REDIS" "$socket_manager" --pipeline-only --pipeline-jobs "$pipeline" --pipeline-concurrency "${PIPELINE_CONCURRENCY:-16}" --pipeline-storage "${PIPELINE_STORAGE:-files}" | tee -a "$out"
fi
log "running BullMQ"
(cd benchmarks/bullmq && node bench.js --redis "$MEDIAGEN_REDIS" --jobs "$jobs" --concurrency "$concurrency" --rate "$rate" --latency-seconds "$seconds") | tee -a "$out"

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def find(impl, scenario, **kw):
    return next((r for r in rows if r["impl"] == impl and r["scenario"] == scenario and all(r.get(k) == v for k, v in kw.items())), None)
print()
print(f"{'scenario':<28}{'MediaGen':>14}{'BullMQ':>14}{'ratio':>8}")
for c in sorted({r["concurrency"] for r in rows if r["scenario"] == "throughput"}):
    m, b = find("mediagen", "throughput", concurrency=c), find("bullmq", "throughput", concurrency=c)
    print(f"{f'jobs/s, concurrency {c}':<28}{m['jobsPerSecond']:>14,.0f}{b['jobsPerSecond']:>14,.0f}{m['jobsPerSecond'] / b['jobsPerSecond']:>8.2f}")
    print(f"{'  client CPU us/job':<28}{m['clientCpuUsPerJob']:>14}{b['clientCpuUsPerJob']:>14}")
    print(f"{'  redis CPU us/job':<28}{m['redisCpuUsPerJob']:>14}{b['redisCpuUsPerJob']:>14}")
m, b = find("mediagen", "latency"), find("bullmq", "latency")
print(f"{'enqueue-to-start p50 ms':<28}{m['p50Ms']:>14}{b['p50Ms']:>14}")
print(f"{'enqueue-to-start p99 ms':<28}{m['p99Ms']:>14}{b['p99Ms']:>14}")
for p in (r for r in rows if r["impl"] == "mediagen" and r["scenario"] == "pipeline"):
    spin = "" if p.get("threadPoolSpinLimit", "default") == "default" else f", thread-pool spin limit {p['threadPoolSpinLimit']}"
    b = find("bullmq", "throughput", concurrency=p["concurrency"])
    ratio = f" ({p['jobsPerSecond'] / b['jobsPerSecond']:.2f}x BullMQ's queue)" if b else ""
    sockets = f", socket manager: {p['socketManager']}" if 'socketManager' in p else ""
    print(f"{'MediaGen full pipeline':<28}{p['jobsPerSecond']:>14,.0f} jobs/s at concurrency {p['concurrency']}{ratio} ({p['succeeded']}/{p['jobs']} succeeded, outputs: {p['storage']}{spin}{sockets})")
    print(f"{'  client / redis CPU us/job':<28}{p['clientCpuUsPerJob']:>14}{p['redisCpuUsPerJob']:>14}   ({p['clientBytesAllocatedPerJob']:,.0f} B allocated, {p['threadPoolWorkItemsPerJob']} thread-pool items per job; GC 0/1/2 {p.get('gcCollections012', '?')}, pause {p.get('gcPauseMs', '?')} ms; JIT in window {p.get('jitMsInRun', '?')} ms)")
    print(f"{'  Redis commands per job':<28}{p['redisCommandsPerJob']:>14} sent ({p['redisCommandsPerJobByName']}); {p['redisCallsPerJobIncludingScripts']} run by the server, inside scripts too")
    if p.get('jitMsInRun', 0) > 250:
        print(f"{'  WARNING':<28} {p['jitMsInRun']} ms of JIT fell in the measured window: the warm-up did not settle, so CPU per job is overstated")
r = find("mediagen", "retention")
if r:
    print(f"{'MediaGen bounded state':<28}{r['bytesPerRetainedJob']:>14,.0f} bytes and {r['keysPerRetainedJob']} keys per retained job ({r['retentionSeconds']:.0f} s retention, {r['rate']} jobs/s)")
    print(f"{'  of which per job':<28} job hash {r['jobHashBytes']} B, job JSON {r.get('jobJsonBytes', 0)} B, credit reservation {r['reservationBytes']} B, event history {r.get('eventHistoryBytes', '?')} B")
    print(f"{'  used_memory delta per s':<28} {r['usedMemoryDeltaBytes']}")
    print(f"{'  retained jobs per s':<28} {r['retainedJobs']}")
PY
