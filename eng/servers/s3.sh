# S3: a one-node Ceph cluster (monitor, one memstore OSD, radosgw) from Debian's packages, on loopback.
# Exports MEDIAGEN_S3_ENDPOINT, MEDIAGEN_S3_ACCESS_KEY, MEDIAGEN_S3_SECRET_KEY, MEDIAGEN_S3_REGION, and
# MEDIAGEN_AWS_CLI (Debian's awscli, the independent client of the interop tests). Sourced by eng/test.sh.

# _s3_stop PIDFILE: stops the daemon whose pid is in PIDFILE and waits until it has exited.
_s3_stop() {
  local pid i
  pid=$(cat "$1" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

start_s3() {
  apt_install ceph-mon ceph-osd radosgw awscli
  local dir="$MEDIAGEN_RUN_DIR/s3" mon_port rgw_port fsid osd_uuid conf attempt up=0 i
  mkdir -p "$dir/mon" "$dir/run" "$dir/log"
  mon_port=$(free_port)
  rgw_port=$(free_port)
  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  osd_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  conf="$dir/ceph.conf"
  # Everything in RAM (memstore), no authentication, one replica: a throw-away cluster for tests. The memstore must
  # hold every object a run writes; 2 GiB leaves room for the 200 MB benchmark.
  cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon allow pool size one = true
mon warn on insecure global id reclaim allowed = false
# The cluster keeps its objects in RAM (memstore); the monitor's own files are small, so a host disk under 5% free (the
# default 'mon data avail crit') must not stop it from starting.
mon data avail crit = 1
mon data avail warn = 2
[mon.a]
mon data = $dir/mon
[osd.0]
osd data = $dir/osd0
# At start an OSD sets its device class and its place in the CRUSH map through monitor commands. Ceph 16 sometimes sends
# them before it has the monitor's fsid (the monitor answers "wrong fsid" and the OSD exits), several times in a row on a
# busy machine. The class does not matter here and the place is set once below, by the CLI.
osd class update on start = false
osd crush update on start = false
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
CONF

  # Stopped in reverse order of registration: radosgw, then the OSD, then the monitor (radosgw hangs otherwise).
  on_stop "_s3_stop '$dir/run/mon.a.pid'"
  on_stop "_s3_stop '$dir/run/osd.0.pid'"
  on_stop "_s3_stop '$dir/run/client.rgw.a.pid'"

  monmaptool --create --addv a "[v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" >/dev/null 2>&1
  ceph-mon -c "$conf" -i a
  # The monitor takes a moment to serve commands (until then the CLI answers EPERM, "problem getting command
  # descriptions from mon", longer on a busy machine); `osd new` with the same uuid is idempotent, so ask until it takes.
  local registered=0
  for ((i = 0; i < 150; i++)); do
    if ceph -c "$conf" --connect-timeout 10 osd new "$osd_uuid" >/dev/null 2>&1; then registered=1; break; fi
    sleep 0.2
  done
  if ((!registered)); then log "the Ceph monitor did not accept the OSD; see $dir/log/mon.a.log"; return 1; fi
  ceph -c "$conf" osd crush add osd.0 1 root=default >/dev/null 2>&1 || { log "the Ceph monitor did not place the OSD in the CRUSH map; see $dir/log/mon.a.log"; return 1; }

  # Should the OSD still exit at start (it did with "wrong fsid" before the two settings above), start it again from a
  # fresh data directory.
  for attempt in 1 2 3 4 5; do
    rm -rf "$dir/osd0" && mkdir -p "$dir/osd0"
    ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1
    ceph-osd -c "$conf" -i 0 >/dev/null 2>&1 || true
    for ((i = 0; i < 50; i++)); do
      if ceph -c "$conf" osd stat 2>/dev/null | grep -q '1 up'; then up=1; break; fi
      if ! kill -0 "$(cat "$dir/run/osd.0.pid" 2>/dev/null)" 2>/dev/null && ((i > 5)); then break; fi
      sleep 0.2
    done
    ((up)) && break
    log "the Ceph OSD did not come up (attempt $attempt); starting it again"
    _s3_stop "$dir/run/osd.0.pid"
  done
  if ((!up)); then log "the Ceph OSD did not start; see $dir/log/osd.0.log"; return 1; fi

  # radosgw's pools, created up front (in parallel) so the first request does not pay for them.
  local pool pids=()
  for pool in .rgw.root default.rgw.control default.rgw.meta default.rgw.log default.rgw.buckets.index \
    default.rgw.buckets.data default.rgw.buckets.non-ec; do
    ceph -c "$conf" osd pool create "$pool" 8 8 >/dev/null 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}" || true

  radosgw -c "$conf" -n client.rgw.a
  wait_port "$rgw_port" 60
  for ((i = 0; i < 300; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$rgw_port/") == 200 ]] && break
    sleep 0.2
  done
  radosgw-admin -c "$conf" user create --uid=mediagen --display-name=MediaGen \
    --access-key=mediagen-access --secret-key=mediagen-secret >/dev/null

  export MEDIAGEN_S3_ENDPOINT="http://127.0.0.1:$rgw_port"
  export MEDIAGEN_S3_ACCESS_KEY=mediagen-access
  export MEDIAGEN_S3_SECRET_KEY=mediagen-secret
  export MEDIAGEN_S3_REGION=us-east-1
  export MEDIAGEN_AWS_CLI=/usr/bin/aws
  log "S3 (radosgw) on $MEDIAGEN_S3_ENDPOINT"
}

MEDIAGEN_SERVERS+=(s3)
