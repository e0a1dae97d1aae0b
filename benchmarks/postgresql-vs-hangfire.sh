#!/usr/bin/env bash
# MediaGen on PostgreSQL against Hangfire.PostgreSql, in one run on one PostgreSQL cluster started here (loopback,
# fsync on, synchronous_commit off so a shared disk's flush latency does not hide the CPU and round trips per job, and
# pg_stat_statements to count statements). No-op jobs at concurrency 1, 16 and 64: jobs/s, client and server CPU per
# job, SQL statements and write-ahead log per job for both. Prints both sides' JSON lines, then a table.
# Options: JOBS=3000 CONCURRENCY=1,16,64 SIDES=mediagen,hangfire (one side alone, to compare a change)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export MEDIAGEN_RUN_DIR=${MEDIAGEN_RUN_DIR:-$(mktemp -d -t mediagen-bench.XXXXXX)}
# shellcheck source=eng/servers/lib.sh
source eng/servers/lib.sh
# shellcheck source=eng/servers/postgresql.sh
source eng/servers/postgresql.sh
trap stop_all EXIT
export MEDIAGEN_POSTGRES_SETTINGS="-c fsync=on -c synchronous_commit=off -c full_page_writes=on -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top"
start_postgresql

log "building"
dotnet build benchmarks/MediaGen.PostgreSql.Benchmarks -c Release -nologo -clp:ErrorsOnly >/dev/null
out="$MEDIAGEN_RUN_DIR/results.jsonl"
log "load before: $(uptime)"
dotnet benchmarks/MediaGen.PostgreSql.Benchmarks/bin/Release/net10.0/MediaGen.PostgreSql.Benchmarks.dll \
  --connection "$MEDIAGEN_POSTGRES;Maximum Pool Size=100${BENCH_CONNECTION_EXTRA:+;$BENCH_CONNECTION_EXTRA}" --jobs "${JOBS:-3000}" --concurrency "${CONCURRENCY:-1,16,64}" --sides "${SIDES:-mediagen,hangfire}" \
  --postmaster-pid "$(head -n 1 "$MEDIAGEN_RUN_DIR/postgresql/data/postmaster.pid")" | tee "$out"
log "load after: $(uptime)"

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
find = lambda impl, c: next((r for r in rows if r["impl"] == impl and r["concurrency"] == c), None)
cell = lambda r, key: "-" if r is None else f"{r[key]:,.0f}" if key == "jobsPerSecond" else str(r[key])
print()
print(f"{'':<26}{'MediaGen':>12}{'Hangfire.PG':>14}{'ratio':>8}")
for c in sorted({r["concurrency"] for r in rows}):
    m, h = find("mediagen", c), find("hangfire", c)
    ratio = f"{m['jobsPerSecond'] / h['jobsPerSecond']:.2f}" if m and h else "-"
    print(f"{f'jobs/s, concurrency {c}':<26}{cell(m, 'jobsPerSecond'):>12}{cell(h, 'jobsPerSecond'):>14}{ratio:>8}")
    for key, name in (("clientCpuUsPerJob", "client CPU us/job"), ("serverCpuUsPerJob", "PostgreSQL CPU us/job"), ("statementsPerJob", "SQL statements/job"),
                      ("walRecordsPerJob", "WAL records/job"), ("walBytesPerJob", "WAL bytes/job")):
        print(f"{'  ' + name:<26}{cell(m, key):>12}{cell(h, key):>14}")
PY
