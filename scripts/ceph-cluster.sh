#!/usr/bin/env bash
# A throw-away Ceph cluster on 127.0.0.1 for kaya's RADOS tests and benchmarks: one
# monitor and three OSDs (memstore: data lives in the OSD processes' memory; or
# BlueStore on a sparse file per OSD), cephx off, pool size 3 / min_size 2 replicated
# across the OSDs of this one host, no manager. Ready in a few seconds.
#
#   scripts/ceph-cluster.sh start          creates and starts the cluster in
#                                          $KAYA_CEPH_DIR
#   scripts/ceph-cluster.sh env            prints the exports the tests and the tool need
#   scripts/ceph-cluster.sh stop           stops the daemons this script started (by the
#                                          PIDs in $KAYA_CEPH_DIR/pids), removes the
#                                          directory
#   scripts/ceph-cluster.sh kill-osd N     SIGKILLs osd.N (by its PID) and waits until it
#                                          is gone
#   scripts/ceph-cluster.sh restart-osd N  starts osd.N again (SIGKILLing it first if it
#                                          runs); memstore comes back empty and is
#                                          refilled by recovery, BlueStore keeps its data
#   scripts/ceph-cluster.sh wait-clean [S] waits up to S seconds (default 120) until every
#                                          OSD is up and every placement group of the
#                                          pool is active+clean; prints how long it took
#   scripts/ceph-cluster.sh heal [S]       restart-osd for every OSD that does not run,
#                                          then wait-clean: the state each test starts from
#   scripts/ceph-cluster.sh primary OBJECT [NAMESPACE]
#                                          prints the id of the OSD acting as primary for
#                                          OBJECT in the pool
#   scripts/ceph-cluster.sh objects N [NAMESPACE]
#                                          lists the objects (of NAMESPACE) that the
#                                          stopped osd.N keeps in its BlueStore file
#
# Settings (environment):
#   KAYA_CEPH_DIR        cluster directory (default build/ceph-cluster)
#   KAYA_CEPH_PORT_BASE  the monitor's port; the OSDs bind ports BASE+10..BASE+99
#                        (default 13300; give parallel clusters different bases)
#   KAYA_CEPH_OSDS       number of OSDs (default 3; with 1, the pool has size 1)
#   KAYA_CEPH_POOL       the pool created for kaya (default kaya)
#   KAYA_CEPH_STORE      memstore (default) or bluestore (a 2 GiB sparse file per OSD,
#                        data that survives an OSD restart)
#
# Without a manager `ceph df`, `rados df` and `ceph pg stat` hang: readiness is checked
# with a real `rados put`.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${KAYA_CEPH_DIR:-build/ceph-cluster}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
port="${KAYA_CEPH_PORT_BASE:-13300}"
osds="${KAYA_CEPH_OSDS:-3}"
pool="${KAYA_CEPH_POOL:-kaya}"
conf="$dir/ceph.conf"
# A running cluster's store is the one it was started with.
if [ -f "$conf" ]; then
  store="$(sed -n 's/^osd objectstore = //p' "$conf")"
else
  store="${KAYA_CEPH_STORE:-memstore}"
fi

log() { echo "ceph-cluster: $*" >&2; }
cli() { timeout 30 ceph -c "$conf" --connect-timeout 20 "$@"; }

# The daemons' PIDs, one file each: stop kills exactly these.
# Whether the process of PID file $1 runs. A zombie (exited, not reaped yet by a parent
# that is still alive) answers kill -0 but is not running: waiting for it is waiting for
# nothing.
pid_alive() {
  [ -f "$1" ] || return 1
  local pid state
  pid="$(cat "$1")"
  kill -0 "$pid" 2>/dev/null || return 1
  state="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)"
  [ -n "$state" ] && [ "$state" != Z ]
}

stop() {
  [ -d "$dir/pids" ] || return 0
  local f pid
  for f in "$dir"/pids/osd.*.pid "$dir"/pids/mon.*.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  # Give them a second to exit, then SIGKILL the same PIDs: nothing of the cluster is
  # kept, and an OSD takes 4-5 s to shut down on SIGTERM.
  for _ in $(seq 10); do
    local alive=0
    for f in "$dir"/pids/*.pid; do
      [ -f "$f" ] || continue
      if pid_alive "$f"; then alive=1; fi
    done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for f in "$dir"/pids/*.pid; do
    [ -f "$f" ] || continue
    if pid_alive "$f"; then kill -KILL "$(cat "$f")" 2>/dev/null || true; fi
  done
  rm -rf "$dir"
  log "stopped"
}

# The object store's settings: memstore keeps objects in the OSD's memory (nothing
# survives its restart); BlueStore writes them to a sparse file in the OSD's directory
# with O_DIRECT, as on a real device.
store_conf() {
  case "$store" in
    memstore)
      echo "osd objectstore = memstore"
      echo "memstore device bytes = 2147483648"
      # Pages, not the list of buffers written: without it a write to an object costs
      # more the more writes the object took (one-object appends: 709/s falling to
      # 88/s over 10,000), which a real store does not do.
      echo "memstore page set = true"
      ;;
    bluestore)
      echo "osd objectstore = bluestore"
      echo "bluestore block create = true"
      echo "bluestore block size = 2147483648"
      echo "bluestore fsck on mkfs = false"
      echo "bluestore fsck on mount = false"
      echo "bluestore cache autotune = false"
      echo "bluestore cache size = 134217728"
      ;;
    *)
      log "KAYA_CEPH_STORE=$store: expected memstore or bluestore"
      exit 4
      ;;
  esac
}

write_conf() {
  local fsid="$1"
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$port
public addr = 127.0.0.1
# The cluster (replication) and heartbeat sockets bind here too: nothing listens beyond
# loopback (start() checks it).
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = $((port + 10))
ms bind port max = $((port + 99))
# cephx off: the cluster is a throw-away one for tests, reachable only on loopback
# (checked at start), so keys would protect nothing another local process could not
# read from this directory anyway, and would cost each test client a key exchange.
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
keyring = $dir/keyring
osd pool default size = $([ "$osds" -ge 3 ] && echo 3 || echo "$osds")
osd pool default min size = $([ "$osds" -ge 3 ] && echo 2 || echo 1)
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
paxos propose interval = 0.1
mon data = $dir/mon/\$name
osd data = $dir/osd/\$id
$(store_conf)
osd op num shards = 2
osd op num threads per shard = 1
# A stopped OSD is marked down at once by its own shutdown message; one that dies is
# reported by its peers within a few seconds.
osd heartbeat grace = 6
osd heartbeat interval = 1
mon osd down out interval = 600
EOF
}

# Starts the daemon of osd.$1 (made by start) and records its PID.
start_osd() {
  ceph-osd -c "$conf" -i "$1" -f >>"$dir/log/osd.$1.out" 2>&1 &
  echo $! >"$dir/pids/osd.$1.pid"
}

start() {
  if [ -d "$dir/pids" ]; then
    log "a cluster already runs in $dir (stop it first)"
    exit 1
  fi
  mkdir -p "$dir"/{run,log,mon,osd,pids}
  local fsid
  fsid="$(uuidgen)"
  write_conf "$fsid"
  # Every Ceph tool below reads this cluster's configuration, not one named by the
  # caller's environment (another cluster's, or one already removed).
  export CEPH_CONF="$conf"
  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
  ceph-mon -c "$conf" -i a -f >>"$dir/log/mon.a.out" 2>&1 &
  echo $! >"$dir/pids/mon.a.pid"

  for ((i = 0; i < osds; i++)); do
    local uuid id
    uuid="$(uuidgen)"
    id="$(cli osd new "$uuid")"
    mkdir -p "$dir/osd/$id"
    ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$uuid" >>"$dir/log/osd.$id.out" 2>&1
    start_osd "$id"
  done
  cli osd pool create "$pool" 8 8 replicated >/dev/null 2>&1
  cli osd pool application enable "$pool" rados >/dev/null 2>&1

  # Ready when a real write to the pool succeeds (all PGs of a size-3 pool active).
  local deadline=$((SECONDS + 60))
  until timeout 10 rados -c "$conf" -p "$pool" put kaya-cluster-probe "$conf" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      log "the cluster did not become ready in 60 s; logs in $dir/log"
      exit 1
    fi
    sleep 0.5
  done
  timeout 10 rados -c "$conf" -p "$pool" rm kaya-cluster-probe
  check_loopback_only
  log "ready: $osds OSD(s), pool $pool, CEPH_CONF=$conf"
}

# Fails (and stops the cluster) when a socket listening on this cluster's ports
# (port..port+99) is bound to anything but 127.0.0.1: with authentication off, such a
# daemon would accept anyone on the network. Reads /proc/net/tcp{,6} (state 0A: listen;
# local address as hex IP:port, 0100007F:... for 127.0.0.1).
check_loopback_only() {
  local exposed="" local_addr
  for local_addr in $(awk 'FNR > 1 && $4 == "0A" { print $2 }' /proc/net/tcp /proc/net/tcp6); do
    local p=$((16#${local_addr##*:}))
    if [ "$p" -ge "$port" ] && [ "$p" -le $((port + 99)) ] &&
      [ "${local_addr%:*}" != "0100007F" ]; then
      exposed+=" $local_addr"
    fi
  done
  if [ -n "$exposed" ]; then
    log "a daemon listens beyond loopback (local address:port in hex):$exposed"
    stop
    exit 1
  fi
}

# The PID file of osd.$1, which must be one of this cluster's OSDs.
osd_pid_file() {
  if ! [[ "$1" =~ ^[0-9]+$ ]] || ! [ -d "$dir/osd/$1" ]; then
    log "no osd.$1 in the cluster of $dir"
    exit 4
  fi
  echo "$dir/pids/osd.$1.pid"
}

kill_osd() {
  local f
  f="$(osd_pid_file "$1")"
  if pid_alive "$f"; then kill -KILL "$(cat "$f")" 2>/dev/null || true; fi
  local deadline=$((SECONDS + 30))
  while pid_alive "$f"; do
    if [ $SECONDS -ge $deadline ]; then
      log "osd.$1 (PID $(cat "$f")) still runs 30 s after SIGKILL"
      exit 1
    fi
    sleep 0.05
  done
  log "osd.$1 killed"
}

# Starts osd.$1 again and waits until the monitor has it up: its new up_from epoch
# tells the restarted daemon from the one before, which the map may still show up.
restart_osd() {
  local before
  osd_pid_file "$1" >/dev/null
  before="$(state up-from "$1")"
  kill_osd "$1"
  start_osd "$1"
  state wait-booted "$1" "$before" 60
  log "osd.$1 started and up (PID $(cat "$dir/pids/osd.$1.pid"))"
}

# Questions to the cluster over one librados connection (scripts/ceph-cluster-state.py).
state() { timeout 600 /usr/bin/python3 scripts/ceph-cluster-state.py "$conf" "$pool" "$@"; }

wait_clean() {
  local took
  took="$(state wait-clean "${1:-120}")"
  log "clean: every OSD up, every placement group of $pool active+clean (waited $took s)"
}

heal() {
  local f id
  for f in "$dir"/pids/osd.*.pid; do
    [ -f "$f" ] || continue
    id="${f##*/osd.}"
    id="${id%.pid}"
    pid_alive "$f" || restart_osd "$id"
  done
  wait_clean "${1:-120}"
}

# The objects (of namespace $2) stored by the stopped osd.$1, one name per line, read
# from its BlueStore file with ceph-objectstore-tool (which reads its configuration
# from CEPH_CONF: given with -c, the listing comes out empty).
objects() {
  local f
  f="$(osd_pid_file "$1")"
  if [ "$store" != bluestore ]; then
    log "objects: the cluster runs $store, which keeps nothing outside the OSD process"
    exit 4
  fi
  if pid_alive "$f"; then
    log "objects: osd.$1 runs; its store can be read only while it is stopped"
    exit 4
  fi
  local listing
  listing="$(CEPH_CONF="$conf" ceph-objectstore-tool --no-mon-config --data-path "$dir/osd/$1" --op list 2>>"$dir/log/objectstore-tool.log")"
  jq -r --arg ns "${2:-}" '.[1] | select(.namespace == $ns) | .oid' <<<"$listing" | sort -u
}

env_lines() {
  echo "export CEPH_CONF=$conf"
  echo "export KAYA_CEPH_POOL=$pool"
  echo "export KAYA_CEPH_DIR=$dir"
  echo "export KAYA_CEPH_STORE=$store"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) env_lines ;;
  kill-osd) kill_osd "${2:?usage: kill-osd N}" ;;
  restart-osd) restart_osd "${2:?usage: restart-osd N}" ;;
  wait-clean) wait_clean "${2:-120}" ;;
  heal) heal "${2:-120}" ;;
  primary) state primary "${2:?usage: primary OBJECT [NAMESPACE]}" "${3:-}" ;;
  objects) objects "${2:?usage: objects N [NAMESPACE]}" "${3:-}" ;;
  *)
    echo "usage: scripts/ceph-cluster.sh start|stop|env|kill-osd N|restart-osd N|wait-clean [S]|heal [S]|primary OBJECT [NS]|objects N [NS]" >&2
    exit 4
    ;;
esac
