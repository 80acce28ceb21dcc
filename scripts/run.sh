#!/usr/bin/env bash
# The main job: installs what kaya needs, builds the kaya-wal tool (release), runs
# `kaya-wal bench` with its defaults into a log directory, then `kaya-wal inspect` of
# what it wrote. `scripts/run.sh DIR` keeps the log in DIR (which must not hold a log
# yet). Without DIR the log goes to a temporary directory: bench keeps it (its header
# says "kept") for the inspect that follows, and this script removes it when it ends,
# also on failure or Ctrl-C, and says so. Builds in build/release, which
# scripts/check-release.sh (run before it in CI) has already built.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/release-build.sh -- kaya-wal
tool=build/release/tools/kaya-wal/kaya-wal

if [ $# -ge 1 ]; then
  dir="$1"
else
  dir="$(mktemp -d "${TMPDIR:-/tmp}/kaya-main-XXXXXX")"
  remove_dir() {
    if rm -rf "$dir"; then
      echo "run.sh: removed $dir"
    else
      echo "run.sh: could not remove $dir" >&2
    fi
  }
  trap remove_dir EXIT
  echo "run.sh: no DIR given: the log goes to $dir, kept for the inspect below and" \
    "removed when run.sh ends (scripts/run.sh DIR keeps it)"
fi
"$tool" bench --dir "$dir"
echo
"$tool" inspect "$dir"
