# Chromium for the browser tests (tests/MediaGen.Browser.Tests): Debian's package, installed only when missing.
# Playwright drives it by path and never downloads a browser of its own. Exports MEDIAGEN_CHROMIUM=/usr/bin/chromium.

start_chromium() {
  apt_install chromium
  export MEDIAGEN_CHROMIUM=/usr/bin/chromium
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  log "chromium: $("$MEDIAGEN_CHROMIUM" --version 2>/dev/null | head -n1)"
}

MEDIAGEN_SERVERS+=(chromium)
