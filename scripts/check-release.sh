#!/usr/bin/env bash
# The optimised builds: every target (library, tool, examples, tests, benchmarks) in
# Release with warnings as errors, with the default compiler (GCC 12 on Debian 12) in
# build/release, whose unit suites then run (the RADOS ones need a cluster:
# scripts/test-rados.sh), and with clang 14 in build/release-clang (compiled and
# linked, not run). The install check, the packages and the main job reuse
# build/release (scripts/release-build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== Release, $(c++ --version | head -1)"
scripts/release-build.sh
ctest --test-dir build/release --output-on-failure -j "$(nproc)" -LE rados

echo "== Release, $(clang++-14 --version | head -1)"
cmake -S . -B build/release-clang -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAYA_WERROR=ON \
  -DKAYA_BUILD_TESTS=ON -DKAYA_BUILD_BENCH=ON -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build build/release-clang
echo "check-release: every target builds warning-free with both compilers"
