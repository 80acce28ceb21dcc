#!/usr/bin/env bash
# The main job: installs what kaya needs, builds it (release) and runs the demo, which
# appends from several threads in both durability modes, reopens the log and prints
# what it wrote, what is on disk and the fsync statistics. Arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAYA_BUILD_TESTS=OFF >/dev/null
cmake --build build/release --target append_demo
exec build/release/examples/append_demo "$@"
