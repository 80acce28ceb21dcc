#!/usr/bin/env bash
# Builds the benchmarks in Release (build/release) and runs the suite: wal_bench and
# replay_bench 3 times each (medians reported), then micro_bench. A few minutes on a
# 2-core VM. `scripts/bench.sh --json OUTDIR` writes wal_bench.json, replay_bench.json
# and micro_bench.json into OUTDIR instead of printing tables.
# KAYA_BENCH_DIR picks the directory benchmarked (default: a temporary one under
# $TMPDIR or /tmp; use the disk you want to measure, not tmpfs).
set -euo pipefail
cd "$(dirname "$0")/.."
json_dir=""
case "${1:-}" in
  "") ;;
  --json) [ $# -eq 2 ] || { echo "usage: scripts/bench.sh [--json OUTDIR]" >&2; exit 4; }
          json_dir="$2"; mkdir -p "$json_dir" ;;
  *) echo "usage: scripts/bench.sh [--json OUTDIR]" >&2; exit 4 ;;
esac
scripts/install-deps.sh
build=build/release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAYA_BUILD_TESTS=OFF \
  -DKAYA_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target wal_bench replay_bench micro_bench
dir_flag=()
[ -n "${KAYA_BENCH_DIR:-}" ] && dir_flag=(--dir "$KAYA_BENCH_DIR")
bench="$build/bench"
if [ -n "$json_dir" ]; then
  "$bench/wal_bench" --runs 3 --json "${dir_flag[@]}" >"$json_dir/wal_bench.json"
  "$bench/replay_bench" --runs 3 --json "${dir_flag[@]}" >"$json_dir/replay_bench.json"
  "$bench/micro_bench" --benchmark_min_time=0.1 --benchmark_format=json \
    >"$json_dir/micro_bench.json"
  echo "wrote $json_dir/{wal_bench,replay_bench,micro_bench}.json"
else
  echo "== wal_bench --runs 3"
  "$bench/wal_bench" --runs 3 "${dir_flag[@]}"
  echo; echo "== replay_bench --runs 3"
  "$bench/replay_bench" --runs 3 "${dir_flag[@]}"
  echo; echo "== micro_bench"
  "$bench/micro_bench" --benchmark_min_time=0.1
fi
