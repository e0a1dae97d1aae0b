#!/usr/bin/env bash
# Brings every package's PublicAPI.Unshipped.txt up to date with its code, after an intended public API change (a merge
# that adds API, a removal before anything shipped): adds each public symbol the analyzer reports as undeclared (RS0016)
# and removes each declared one it cannot find (RS0017), under both target frameworks, then builds again to prove the
# files agree. A package without the two files gets them. Review the diff: each added line is a promise to users once it
# ships. Moving Unshipped lines into PublicAPI.Shipped.txt is a release step; a Shipped line is never removed here.
# It reads the analyzer's own diagnostics from a build (warnings kept as warnings so every project reports), which is
# faster and steadier here than `dotnet format analyzers --diagnostics RS0016 RS0017`, whose fixes it mirrors.
# Usage: eng/update-public-api.sh [project-or-solution]   (default: MediaGen.sln)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
target=${1:-MediaGen.sln}
work=$(mktemp -d -t mediagen-api.XXXXXX)
trap 'rm -rf "$work"' EXIT

for project in src/*/*.csproj; do
  dir=$(dirname "$project")
  for file in PublicAPI.Shipped.txt PublicAPI.Unshipped.txt; do
    [[ -f $dir/$file ]] || printf '#nullable enable\n' >"$dir/$file"
  done
done

build() {
  # --no-incremental: the analyzers must see every project, not only those whose inputs changed.
  dotnet build "$target" -c Release --no-incremental -nologo -v m -clp:NoSummary -p:TreatWarningsAsErrors=false >"$1" 2>&1 || true
}

build "$work/before.log"
python3 - "$work/before.log" <<'PY'
import collections, os, re, sys

line_re = re.compile(
    r"(?:warning|error) (RS0016|RS0017): Symbol '(.*)' is (?:not part of the declared public API"
    r"|part of the declared API, but is either not public or could not be found).*\[([^\]]+?\.csproj)")
add, remove = collections.defaultdict(set), collections.defaultdict(set)
for line in open(sys.argv[1], errors="replace"):
    m = line_re.search(line)
    if m:
        rule, symbol, project = m.groups()
        (add if rule == "RS0016" else remove)[os.path.dirname(project)].add(symbol)

for folder in sorted(set(add) | set(remove)):
    unshipped = os.path.join(folder, "PublicAPI.Unshipped.txt")
    shipped = open(os.path.join(folder, "PublicAPI.Shipped.txt")).read().splitlines()
    lines = [l for l in open(unshipped).read().splitlines() if l and not l.startswith("#")]
    kept = [l for l in lines if l not in remove[folder]]
    for symbol in sorted(remove[folder] & set(shipped)):
        print(f"{folder}: '{symbol}' shipped and is gone: a breaking change, left for a person to decide")
    new = sorted(set(kept) | (add[folder] - set(shipped)), key=lambda l: (l.lstrip("~").lower(), l))
    with open(unshipped, "w") as f:
        f.write("#nullable enable\n" + "".join(l + "\n" for l in new))
    print(f"{os.path.relpath(unshipped)}: +{len(add[folder] - set(lines) - set(shipped))} -{len(set(lines) - set(kept))}")
PY

build "$work/after.log"
if grep -qE '(warning|error) RS00[0-9]{2}' "$work/after.log"; then
  grep -E '(warning|error) RS00[0-9]{2}' "$work/after.log" | sort -u | head -20 >&2
  echo "The public API files still disagree with the code (above)." >&2
  exit 1
fi
if grep -qE ': error ' "$work/after.log"; then
  grep -E ': error ' "$work/after.log" | sort -u | head -20 >&2
  echo "The build has other errors (above); the public API files were updated as far as it got." >&2
  exit 1
fi
git --no-pager diff --stat -- 'src/*/PublicAPI.*.txt' || true
