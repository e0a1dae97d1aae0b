#!/usr/bin/env bash
# Publishes tests/MediaGen.Aot.Consumer (in-memory defaults + the procedural generator, configured from sections) twice,
# with Native AOT and with trimming, and fails unless
#   - each publish reports 0 trim/AOT warnings (IL2xxx/IL3xxx) from MediaGen code, and
#   - each published app runs one job to Succeeded.
# Native AOT needs clang and zlib's headers (zlib1g-dev): installed with apt when missing. The ILCompiler package comes
# from the NuGet feed; its version is the SDK's choice. Usage: eng/check-aot.sh [output-dir]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${1:-${MEDIAGEN_RUN_DIR:-$(mktemp -d -t mediagen-aot.XXXXXX)}/aot-check}
mkdir -p "$out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
project=tests/MediaGen.Aot.Consumer/MediaGen.Aot.Consumer.csproj
rid=linux-x64
[[ $(uname -m) == aarch64 ]] && rid=linux-arm64
failed=0

say() { printf '[check-aot] %s\n' "$*"; }

apt_install() {
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    say "missing $*, and cannot install it here (needs root and apt-get)"
    return 1
  fi
  # The image's apt clean-up can remove downloads in the middle of an install: one retry.
  apt-get install -y --no-install-recommends "$@" >/dev/null || apt-get install -y --no-install-recommends "$@" >/dev/null
}

# The ILCompiler links with clang. Debian's clang-14 package installs only clang-14, so name it when `clang` is absent.
aot_props=()
if ! command -v clang >/dev/null; then
  cc=$(compgen -c clang- | grep -E '^clang-[0-9]+$' | sort -t- -k2 -n | tail -1 || true)
  if [[ -z $cc ]]; then
    apt_install clang
  else
    aot_props+=("-p:CppCompilerAndLinker=$cc")
  fi
fi
if ! [[ -e /usr/include/zlib.h ]]; then
  apt_install zlib1g-dev
fi

# Prints the trim/AOT warnings a publish log holds that come from MediaGen (a MediaGen source path or assembly).
mediagen_warnings() {
  grep -E 'warning (IL[0-9]{4})' "$1" | grep -E 'MediaGen' | sed -E 's/ \[[^]]*\]$//' | sort -u || true
}

check() {
  local name=$1 binary=$2 log=$3
  local warnings count
  warnings=$(mediagen_warnings "$log")
  count=$(grep -c . <<<"$warnings" || true)
  say "$name: $count MediaGen trim/AOT warning(s)"
  if [[ $count -ne 0 ]]; then
    printf '%s\n' "$warnings"
    failed=1
  fi
  say "$name: total warnings in the publish (all assemblies): $(grep -cE 'warning IL[0-9]{4}' "$log" || true)"
  local run
  if run=$("$binary" 2>&1); then
    say "$name: $run"
  else
    say "$name: the app failed:"
    printf '%s\n' "$run"
    failed=1
  fi
  if ! grep -q ': Succeeded,' <<<"$run"; then
    failed=1
  fi
}

# Publishes the app into $out/$dir with the given properties, then checks the publish log and runs the app.
publish_and_check() {
  local name=$1 dir=$2
  shift 2
  local start=$SECONDS
  say "publishing $name ($rid)"
  # Warnings stay warnings here (counted by check), so one from a dependency cannot hide a MediaGen one behind a failed build.
  if dotnet publish "$project" -c Release -r "$rid" -p:TreatWarningsAsErrors=false "$@" \
       -o "$out/$dir" -nologo -clp:NoSummary >"$out/$dir.log" 2>&1; then
    check "$name" "$out/$dir/MediaGen.Aot.Consumer" "$out/$dir.log"
  else
    say "$name publish failed:"
    grep -E 'error|warning' "$out/$dir.log" | tail -30
    failed=1
  fi
  say "$name took $((SECONDS - start)) s"
}

publish_and_check "native AOT" aot -p:PublishAot=true "${aot_props[@]}"
publish_and_check "trimmed" trimmed --self-contained -p:PublishTrimmed=true

exit "$failed"
