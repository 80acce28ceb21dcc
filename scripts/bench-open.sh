#!/usr/bin/env bash
# Builds bench/open_bench in Release (build/release) and runs it: Writer::open of a
# 10 GiB log vs a 64 MiB one, after a clean close and after a SIGKILL, with the
# default recovery and with a full scan, and recover --full of a 1 GiB log vs pread +
# crc32c, all with a cold cache (medians of 3; see the comment atop
# bench/open_bench.cc). Writes about 11.2 GiB of logs first (a minute or two on a
# virtio disk) and removes them at the end; a full run takes a few minutes. Run as
# root so that /proc/sys/vm/drop_caches can be written (otherwise only posix_fadvise
# evicts the log's pages; the header says which).
#
#   scripts/bench-open.sh [open_bench flags...]   e.g. --runs 5, --json, --cases open
#
# KAYA_BENCH_DIR picks the directory benchmarked (default: a temporary one under
# $TMPDIR or /tmp); with it, --keep leaves the logs there for the next run to reuse.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=build/release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAYA_BUILD_TESTS=OFF \
  -DKAYA_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target open_bench >&2  # stdout: the results
dir_flag=()
[ -n "${KAYA_BENCH_DIR:-}" ] && dir_flag=(--dir "$KAYA_BENCH_DIR")
"$build/bench/open_bench" "${dir_flag[@]}" "$@"
