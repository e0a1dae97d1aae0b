#!/usr/bin/env bash
# Runs every MediaGen test. Installs and starts, on loopback, each real server the adapter tests need
# (see eng/servers/*.sh), exports their addresses as MEDIAGEN_* variables, runs `dotnet test`, and stops
# what it started. Extra arguments go to `dotnet test` (for example --filter).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

export MEDIAGEN_RUN_DIR=${MEDIAGEN_RUN_DIR:-$(mktemp -d -t mediagen-test.XXXXXX)}
# The test results folder (dotnet test --results-directory below); the browser tests write their screenshots there.
export MEDIAGEN_TEST_RESULTS="$MEDIAGEN_RUN_DIR/results"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The tests build hundreds of hosts, some at once; with config reload on, each watches its appsettings through an inotify
# instance, and Linux allows 128 per user. No test reloads configuration.
export DOTNET_hostBuilder__reloadConfigOnChange=false

# shellcheck source=eng/servers/lib.sh
source "$root/eng/servers/lib.sh"
for f in "$root"/eng/servers/*.sh; do
  [[ $(basename "$f") == lib.sh ]] && continue
  # shellcheck disable=SC1090
  source "$f"
done

trap stop_all EXIT
trap 'exit 130' INT TERM
for s in "${MEDIAGEN_SERVERS[@]}"; do
  log "starting $s"
  "start_$s"
done

log "building"
dotnet build MediaGen.sln -c Release -nologo -clp:ErrorsOnly

log "testing"
set +e
dotnet test MediaGen.sln -c Release --no-build -nologo \
  --logger "console;verbosity=normal" --results-directory "$MEDIAGEN_TEST_RESULTS" "$@" \
  | tee "$MEDIAGEN_RUN_DIR/test-output.txt" | grep -E --line-buffered '^\s*(Passed|Failed|Skipped|Total|error)|Test Run|Results File|\[FAIL\]|  Failed ' 
status=${PIPESTATUS[0]}
set -e

# The console above shows one line per test. Repeat each failure's message and stack trace (the first 40 lines of its
# block in the full output), so that a CI log says why a test failed, not only which.
if grep -q '^  Failed ' "$MEDIAGEN_RUN_DIR/test-output.txt"; then
  echo "== failures (full output: $MEDIAGEN_RUN_DIR/test-output.txt)"
  awk '/^  (Passed|Skipped) /{p=0} /^  Failed /{p=1; n=0} p && n<40 {print; n++}' "$MEDIAGEN_RUN_DIR/test-output.txt"
fi

# The libraries must stay trim- and Native AOT-clean: publish the consumer app both ways and run a job through each.
# MEDIAGEN_SKIP_AOT_CHECK=1 skips it for a quick filtered run (it takes a minute or two).
if [[ ${MEDIAGEN_SKIP_AOT_CHECK:-0} != 1 ]]; then
  log "checking trimmed and Native AOT publishes"
  if ! bash "$root/eng/check-aot.sh" "$MEDIAGEN_RUN_DIR/aot-check"; then
    echo "[FAIL] eng/check-aot.sh (logs in $MEDIAGEN_RUN_DIR/aot-check)"
    status=1
  fi
fi

# One closing line for the whole run, summed over every test assembly's "Total tests" block.
python3 - "$MEDIAGEN_RUN_DIR/test-output.txt" <<'PY'
import re, sys
totals = {"Passed": 0, "Failed": 0, "Skipped": 0}
in_block = False
for line in open(sys.argv[1], errors="replace"):
    if re.match(r"\s*Total tests:\s*\d+", line):
        in_block = True
        continue
    m = re.match(r"\s+(Passed|Failed|Skipped):\s*(\d+)\s*$", line)
    if in_block and m:
        totals[m.group(1)] += int(m.group(2))
    else:
        in_block = False
print(f"{totals['Passed']} passed, {totals['Failed']} failed, {totals['Skipped']} skipped")
PY
exit "$status"
