#!/usr/bin/env bash
# The RADOS backend's tests on a real cluster: installs Ceph (scripts/install-ceph.sh),
# starts a throw-away 1-monitor, 3-OSD cluster (scripts/ceph-cluster.sh), builds kaya
# with the backend under AddressSanitizer + UBSan (the build of scripts/test.sh), runs
# the tests labelled `rados`, and stops the cluster on exit, killing only the daemons
# it started. The failover test, which stops an OSD, runs last.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-ceph.sh

export KAYA_CEPH_DIR="${KAYA_CEPH_DIR:-$PWD/build/ceph-test}"
export KAYA_CEPH_PORT_BASE="${KAYA_CEPH_PORT_BASE:-$((13300 + ($$ % 50) * 100))}"
trap 'scripts/ceph-cluster.sh stop' EXIT
scripts/ceph-cluster.sh stop  # a cluster left behind by an interrupted run
scripts/ceph-cluster.sh start
eval "$(scripts/ceph-cluster.sh env)"

build="build/test-address"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKAYA_SANITIZE=address \
  -DKAYA_WERROR=ON -DKAYA_WITH_RADOS=ON >/dev/null
cmake --build "$build"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
ctest --test-dir "$build" --output-on-failure -L rados -E Failover
grep -hE "^kill test" "$build/Testing/Temporary/LastTest.log" || true
ctest --test-dir "$build" --output-on-failure -L rados -R Failover
grep -hE "^failover test" "$build/Testing/Temporary/LastTest.log" || true
