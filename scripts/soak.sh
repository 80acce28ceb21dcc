#!/usr/bin/env bash
# Soak: builds the simulation test in Release and runs about OPS operations
# (default 1,000,000) over as many seeds as that takes, then prints the totals.
# Usage: scripts/soak.sh [OPS]   (KAYA_SEED=s to start elsewhere, KAYA_SIM_OPS per seed)
set -euo pipefail
ops=${1:-1000000}
per_seed=${KAYA_SIM_OPS:-100}
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-sim-release"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DKAYA_BUILD_BENCH=OFF -DKAYA_WERROR=ON >/dev/null
ninja -C "$build" -j2 simulation_test >/dev/null
seeds=$(((ops + per_seed - 1) / per_seed))
echo "soak: $seeds seeds x $per_seed operations (start seed ${KAYA_SEED:-1})"
start=$(date +%s)
set +e
out=$(KAYA_SEEDS=$seeds KAYA_SIM_OPS=$per_seed "$build/tests/sim/simulation_test" \
  --gtest_filter=SimulationTest.EveryInvariantHoldsAcrossSeeds 2>&1)
rc=$?
set -e
grep -E "sim totals|Failure|Which is|seed .*replay" <<<"$out" || true
echo "soak: exit $rc after $(($(date +%s) - start)) s"
exit $rc
