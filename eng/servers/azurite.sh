# Azure Blob: Azurite from npm (pinned in eng/servers/azurite/package-lock.json, with @azure/storage-blob, the
# independent client of the interop tests), on loopback. Exports MEDIAGEN_AZURITE_BLOB_ENDPOINT,
# MEDIAGEN_AZURITE_CONNECTION_STRING and MEDIAGEN_AZURITE_CLIENT (a node script driving @azure/storage-blob).
# Sourced by eng/test.sh.

start_azurite() {
  local pkg dir port
  pkg="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/azurite"
  dir="$MEDIAGEN_RUN_DIR/azurite"
  mkdir -p "$dir/data"
  # npm ci wipes node_modules and takes ~15 s: run it only when the lock file changed since the last install.
  if ! cmp -s "$pkg/package-lock.json" "$pkg/node_modules/.mediagen-installed-lock"; then
    log "installing azurite (npm ci)"
    (cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$pkg/package-lock.json" "$pkg/node_modules/.mediagen-installed-lock"
  fi
  port=$(free_port)
  on_stop "kill \$(cat '$dir/azurite.pid')"
  # --skipApiVersionCheck: Azure.Storage.Blobs sends a newer API version than this Azurite knows.
  node "$pkg/node_modules/azurite/dist/src/blob/main.js" --blobHost 127.0.0.1 --blobPort "$port" \
    --location "$dir/data" --skipApiVersionCheck --disableTelemetry --silent >"$dir/azurite.log" 2>&1 &
  echo $! >"$dir/azurite.pid"
  wait_port "$port" 30

  # Azurite's well-known development account; not a secret.
  local key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
  export MEDIAGEN_AZURITE_BLOB_ENDPOINT="http://127.0.0.1:$port/devstoreaccount1"
  export MEDIAGEN_AZURITE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=$MEDIAGEN_AZURITE_BLOB_ENDPOINT;"
  export MEDIAGEN_AZURITE_CLIENT="$pkg/blob-client.mjs"
  log "Azure Blob (Azurite) on $MEDIAGEN_AZURITE_BLOB_ENDPOINT"
}

MEDIAGEN_SERVERS+=(azurite)
