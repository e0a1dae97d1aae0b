# Redocly CLI from npm (pinned in eng/tools/redocly/package-lock.json), the independent linter the sample API's OpenAPI
# document is checked with. Not a server: it installs the tool and exports MEDIAGEN_REDOCLY (the CLI's script, run with
# node). Sourced by eng/test.sh.

start_redocly() {
  local pkg
  pkg="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools/redocly" && pwd)"
  # npm ci wipes node_modules: run it only when the lock file changed since the last install.
  if ! cmp -s "$pkg/package-lock.json" "$pkg/node_modules/.mediagen-installed-lock"; then
    log "installing redocly (npm ci)"
    (cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$pkg/package-lock.json" "$pkg/node_modules/.mediagen-installed-lock"
  fi
  export MEDIAGEN_REDOCLY="$pkg/node_modules/@redocly/cli/bin/cli.js"
  log "Redocly CLI at $MEDIAGEN_REDOCLY"
}

MEDIAGEN_SERVERS+=(redocly)
