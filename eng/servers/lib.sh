# Helpers shared by the server scripts in eng/servers. Sourced by eng/test.sh; not run directly.
# Each server script defines start_<name> (install what is missing, start on a free loopback port,
# export its MEDIAGEN_* variables, register how to stop it with on_stop) and appends <name> to MEDIAGEN_SERVERS.

MEDIAGEN_SERVERS=()
_mediagen_stop_cmds=()
_mediagen_apt_updated=0

log() { printf '[test] %s\n' "$*" >&2; }

# on_stop CMD: run CMD when the test script exits, in reverse order of registration.
on_stop() { _mediagen_stop_cmds+=("$1"); }

stop_all() {
  local i
  for ((i=${#_mediagen_stop_cmds[@]}-1; i>=0; i--)); do
    eval "${_mediagen_stop_cmds[$i]}" >/dev/null 2>&1 || true
  done
  _mediagen_stop_cmds=()
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on. It is picked below the kernel's ephemeral range, so
# no socket the kernel numbers itself (an outgoing connection, a bind to port 0) can take it before the server binds it,
# and never twice in one run (the ports handed out are listed in $MEDIAGEN_RUN_DIR/ports).
free_port() {
  python3 - "${MEDIAGEN_RUN_DIR:-}" <<'PY'
import os, random, socket, sys
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 49152
if low <= 16000:  # too low to leave room below it, as in tests/MediaGen.TestSupport/FreePort.cs
    low = 49152
listed = os.path.join(sys.argv[1], "ports") if sys.argv[1] else None
used = set(open(listed).read().split()) if listed and os.path.exists(listed) else set()
for _ in range(1000):
    port = random.randrange(15000, low)
    if str(port) in used:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    if listed:
        with open(listed, "a") as f:
            f.write(f"{port}\n")
    print(port)
    break
else:
    sys.exit("no free port below the ephemeral range")
PY
}

# wait_port PORT SECONDS: waits until something accepts TCP connections on 127.0.0.1:PORT.
wait_port() {
  local port=$1 deadline=$((SECONDS + ${2:-30}))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ((SECONDS >= deadline)); then log "nothing listens on 127.0.0.1:$port after ${2:-30}s"; return 1; fi
    sleep 0.2
  done
}

# apt_install PKG...: installs the Debian packages that are missing; retries once (the image's apt clean-up
# can delete downloads in the middle of a large install).
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  if ((_mediagen_apt_updated == 0)); then apt-get update -qq >/dev/null; _mediagen_apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
