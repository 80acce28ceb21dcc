#!/usr/bin/env bash
# Builds the benchmarks in Release (build/release) and runs the suite: wal_bench and
# replay_bench 3 times each (medians reported), then micro_bench. About half an hour on
# a 2-core VM with a virtio disk: wal_bench's strict1 appends 20,000 records per
# contestant (about 5 minutes a run where an fdatasync takes 4 ms), and relaxed4k writes
# 1 GiB per contestant at each of 4 thread counts. Every figure comes with a baseline measured in the same run; micro_bench's
# CRC32C rows end with a table of kaya next to ISA-L's crc32_iscsi (libisal-dev, which
# scripts/install-deps.sh installs for the benchmarks only; without it those rows say
# ISA-L is unavailable), and replay_bench's baseline uses the faster of the two. `scripts/bench.sh --json OUTDIR` writes wal_bench.json, replay_bench.json
# and micro_bench.json into OUTDIR instead of printing tables.
# KAYA_BENCH_DIR picks the directory benchmarked (default: a temporary one under
# $TMPDIR or /tmp; use the disk you want to measure, not tmpfs).
# Opt-in, after the suite (each takes minutes): --open runs scripts/bench-open.sh
# (open time of a 10 GiB log vs a 64 MiB one and recover --full, cold cache; writes
# about 11 GiB), --ab runs scripts/bench-ab.sh (wal_bench of the revision before the
# recovery point vs this checkout, interleaved).
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: scripts/bench.sh [--json OUTDIR] [--open] [--ab]" >&2; exit 4; }
json_dir=""
open=0
ab=0
while [ $# -gt 0 ]; do
  case "$1" in
    --json) [ $# -ge 2 ] || usage; json_dir="$2"; mkdir -p "$json_dir"; shift ;;
    --open) open=1 ;;
    --ab) ab=1 ;;
    *) usage ;;
  esac
  shift
done
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
if [ "$open" = 1 ]; then
  if [ -n "$json_dir" ]; then
    scripts/bench-open.sh --json >"$json_dir/open_bench.json"
    echo "wrote $json_dir/open_bench.json"
  else
    echo; echo "== open_bench (scripts/bench-open.sh)"
    scripts/bench-open.sh
  fi
fi
if [ "$ab" = 1 ]; then
  echo; echo "== old vs new (scripts/bench-ab.sh)"
  ab_out=()
  [ -n "$json_dir" ] && ab_out=(--out "$json_dir/ab")
  scripts/bench-ab.sh "${ab_out[@]}"
fi
