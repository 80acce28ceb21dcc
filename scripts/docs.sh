#!/usr/bin/env bash
# Generates the API reference of the public headers (include/kaya/) with doxygen
# (docs/Doxyfile) into build/docs/html. Fails on any doxygen warning, in particular
# on an undocumented public symbol.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
mkdir -p build/docs
version=$(sed -n 's/^project(kaya VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
if ! KAYA_VERSION="$version" doxygen docs/Doxyfile 2>build/docs/warnings.log; then
  cat build/docs/warnings.log >&2
  echo "docs: FAILED: doxygen warnings above (build/docs/warnings.log)" >&2
  exit 1
fi
if [ -s build/docs/warnings.log ]; then
  cat build/docs/warnings.log >&2
  echo "docs: FAILED: doxygen printed warnings" >&2
  exit 1
fi
echo "docs: build/docs/html/index.html (kaya $version), no warnings"
