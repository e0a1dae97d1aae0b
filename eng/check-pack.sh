#!/usr/bin/env bash
# Packs the committed tree from a clone under a folder named src (as ~/src/mediagen would be) and checks the result:
# exactly one package and one symbol package per project under src/ (package validation runs during the pack), each
# with the icon, the readme and a MinVer version, and nothing from tests, samples or benchmarks.
# Takes a full Release build of the solution in the clone. Usage: eng/check-pack.sh [work-dir]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${1:-$(mktemp -d -t mediagen-pack.XXXXXX)}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
clone="$work/src/mediagen"
rm -rf "$clone" "$work/packages"
git clone -q --no-hardlinks "$root" "$clone"
git -C "$clone" checkout -q "$(git -C "$root" rev-parse HEAD)"
(cd "$clone" && dotnet pack MediaGen.sln -c Release -o "$work/packages" -nologo -clp:ErrorsOnly -v q)

failed=0
mapfile -t libraries < <(cd "$clone/src" && ls -d MediaGen.*/ | tr -d /)
for name in "${libraries[@]}"; do
  nupkg=$(ls "$work/packages/$name".[0-9]*.nupkg 2>/dev/null | grep -v '\.symbols\.' || true)
  if [[ -z $nupkg ]] || [[ ! -f ${nupkg%.nupkg}.snupkg ]]; then
    echo "missing package or symbol package: $name"; failed=1; continue
  fi
  for entry in icon.png README.md "lib/net8.0/$name.dll" "lib/net10.0/$name.dll"; do
    unzip -l "$nupkg" | grep -q " $entry\$" || { echo "$name: no $entry in $(basename "$nupkg")"; failed=1; }
  done
done
count=$(ls "$work/packages"/*.nupkg | wc -l)
if [[ $count -ne ${#libraries[@]} ]]; then
  echo "expected ${#libraries[@]} packages, found $count:"; ls "$work/packages"; failed=1
fi
echo "packed $count packages from $clone: $(ls "$work/packages"/*.nupkg | head -1 | xargs basename)"
exit "$failed"
