#!/usr/bin/env bash
# The optimised build every script shares, in build/release: Release, warnings as
# errors, every target (tests and benchmarks included) configured.
#   scripts/release-build.sh [-DNAME=VALUE ...] [-- TARGET ...]
# configures it (with the extra cache settings given) and builds the targets given, or
# everything. A target already built is not rebuilt: scripts/check-release.sh builds it
# all once in CI, and the install check, the packages and the main job reuse it.
# Options that only change install rules (the install prefix, the Debian layout) do
# not recompile anything.
set -euo pipefail
cd "$(dirname "$0")/.."
settings=()
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; targets=("$@"); break ;;
    -D*) settings+=("$1"); shift ;;
    *) echo "usage: scripts/release-build.sh [-DNAME=VALUE ...] [-- TARGET ...]" >&2; exit 4 ;;
  esac
done
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAYA_WERROR=ON \
  -DKAYA_BUILD_TESTS=ON -DKAYA_BUILD_BENCH=ON "${settings[@]}" >/dev/null
if [ ${#targets[@]} -gt 0 ]; then
  cmake --build build/release --target "${targets[@]}"
else
  cmake --build build/release
fi
