#!/usr/bin/env bash
# Brings every package's PublicAPI.Unshipped.txt up to date with its code, after an intended public API change (a merge
# that adds API, a removal before anything shipped): adds what is public and unlisted (RS0016), removes what is listed
# and gone (RS0017), for both target frameworks. A package without the two files gets them. Review the diff: each
# added line is a promise to users once it ships. Moving Unshipped lines to PublicAPI.Shipped.txt is a release step.
# Usage: eng/update-public-api.sh [project.csproj ...]   (default: every project under src/)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

for project in src/*/*.csproj; do
  dir=$(dirname "$project")
  for file in PublicAPI.Shipped.txt PublicAPI.Unshipped.txt; do
    [[ -f $dir/$file ]] || printf '#nullable enable\n' >"$dir/$file"
  done
done

# The analyzers' own code fixes, one package at a time: a multi-targeted project loads once per framework, both see the
# same files, so an API present in either is listed once. (Run over the whole solution at once, dotnet format loses
# most of its edits to these shared files.)
if [[ $# -gt 0 ]]; then
  projects=("$@")
else
  projects=(src/*/*.csproj)
fi
for project in "${projects[@]}"; do
  echo "updating $(dirname "$project")/PublicAPI.Unshipped.txt"
  dotnet format analyzers "$project" --diagnostics RS0016 RS0017 RS0036 RS0037 --severity info --verbosity quiet
done

# Proof: a build with the analyzers must be clean.
for project in "${projects[@]}"; do
  dotnet build "$project" -c Release -nologo -clp:ErrorsOnly -v q >/dev/null || {
    echo "The public API files of $project still disagree with the code: build it and read the RS00xx errors." >&2
    exit 1
  }
done
git --no-pager diff --stat -- 'src/*/PublicAPI.*.txt' || true
