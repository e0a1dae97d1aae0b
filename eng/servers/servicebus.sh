# Azure Service Bus tier of the tests: the project's spec-derived AMQP endpoint (tests/MediaGen.Queue.ServiceBus.Endpoint,
# written from Microsoft's published protocol description; not Service Bus, not the official emulator, which needs
# Docker) on a free loopback port. Queues: jobs, samples and workers (5 s locks, for the sample-host tests) and bench.
# Exports MEDIAGEN_SERVICEBUS_ENDPOINT, a connection string for Azure.Messaging.ServiceBus
# (Endpoint=sb://127.0.0.1:PORT;...;UseDevelopmentEmulator=true). A live namespace is the opt-in tier:
# MEDIAGEN_SERVICEBUS_CONNECTION_STRING (and MEDIAGEN_SERVICEBUS_QUEUE), set by hand. Sourced by eng/test.sh.

start_servicebus() {
  local dir="$MEDIAGEN_RUN_DIR/servicebus" project port key
  project="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tests/MediaGen.Queue.ServiceBus.Endpoint"
  mkdir -p "$dir"
  port=$(free_port)
  key=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
  on_stop "kill \$(cat '$dir/endpoint.pid') 2>/dev/null"
  # Built here in Release, as the solution build that follows does, so that build finds it up to date.
  dotnet build "$project" -c Release -nologo -clp:ErrorsOnly -v quiet >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; return 1; }
  # The built program is started directly (not through dotnet run) so its pid is the one stopped at the end.
  dotnet "$project/bin/Release/net10.0/MediaGen.Queue.ServiceBus.Endpoint.dll" --port "$port" --key-name mediagen --key "$key" \
    --queue jobs --queue samples=00:00:05 --queue workers=00:00:05 --queue bench >"$dir/endpoint.log" 2>&1 &
  echo $! >"$dir/endpoint.pid"
  wait_port "$port" 60 || { cat "$dir/endpoint.log" >&2; return 1; }
  export MEDIAGEN_SERVICEBUS_ENDPOINT="Endpoint=sb://127.0.0.1:$port;SharedAccessKeyName=mediagen;SharedAccessKey=$key;UseDevelopmentEmulator=true"
  log "Service Bus test endpoint on 127.0.0.1:$port (queues jobs, samples, workers, bench)"
}

MEDIAGEN_SERVERS+=(servicebus)
