#!/usr/bin/env bash
# The RADOS backend's tests on real clusters: installs Ceph (scripts/install-ceph.sh),
# builds kaya with the backend under AddressSanitizer + UBSan (the build of
# scripts/test.sh), starts a throw-away 1-monitor, 3-OSD memstore cluster
# (scripts/ceph-cluster.sh) and runs the tests labelled `rados` on it (those that kill
# OSDs leave every OSD up and the pool clean again), then starts a BlueStore cluster
# (a file per OSD, data kept across an OSD restart) and runs the OSD-restart test
# there too. Stops each cluster on exit, killing only the daemons it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-ceph.sh

build="build/test-address"
# scripts/test.sh's build (which CI runs first), plus the backend.
# shellcheck source=scripts/sanitizer-config.sh
. scripts/sanitizer-config.sh
sanitizer_configure address -DKAYA_WITH_RADOS=ON
cmake --build "$build"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

base="${KAYA_CEPH_DIR:-$PWD/build/ceph-test}"
port="${KAYA_CEPH_PORT_BASE:-$((13300 + ($$ % 50) * 100))}"
# Runs "$@" (a ctest command line) against a new cluster of store $1.
with_cluster() {
  local store="$1"
  shift
  export KAYA_CEPH_DIR="$base-$store" KAYA_CEPH_STORE="$store" KAYA_CEPH_PORT_BASE="$port"
  trap 'scripts/ceph-cluster.sh stop' EXIT
  scripts/ceph-cluster.sh stop  # a cluster left behind by an interrupted run
  scripts/ceph-cluster.sh start
  eval "$(scripts/ceph-cluster.sh env)"
  "$@"
  scripts/ceph-cluster.sh stop
  trap - EXIT
}

report() {
  grep -hE "^(kill|osd turns|two OSDs down) test" "$build/Testing/Temporary/LastTest.log" ||
    true
}

with_cluster memstore ctest --test-dir "$build" --output-on-failure -L rados
report
with_cluster bluestore ctest --test-dir "$build" --output-on-failure -L rados \
  -R EachOsdKilledAndRestartedInTurn
report
