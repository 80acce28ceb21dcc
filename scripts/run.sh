#!/usr/bin/env bash
# The main job: installs what kaya needs, builds the kaya-wal tool (release), runs
# `kaya-wal bench` with its defaults into a log directory, then `kaya-wal inspect` of
# what it wrote. `scripts/run.sh DIR` keeps the log in DIR (which must not hold a log
# yet); without DIR a temporary directory is used and removed. Builds in build/release,
# which scripts/check-release.sh (run before it in CI) has already built.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/release-build.sh -- kaya-wal
tool=build/release/tools/kaya-wal/kaya-wal

if [ $# -ge 1 ]; then
  dir="$1"
  cleanup=""
else
  dir="$(mktemp -d "${TMPDIR:-/tmp}/kaya-main-XXXXXX")"
  cleanup="$dir"
  trap 'rm -rf "$cleanup"' EXIT
fi
"$tool" bench --dir "$dir"
echo
"$tool" inspect "$dir"
