#!/usr/bin/env bash
# Builds kaya's Debian packages (cmake/KayaPackage.cmake says what each holds):
#   scripts/package.sh [OUTDIR]      (default build/packages)
# libkaya0.2 (the shared library), libkaya-dev (headers, static library, CMake and
# pkg-config files) and kaya-wal (the tool), from the optimised build in build/release
# (scripts/release-build.sh), installed under /usr. A build with the RADOS backend
# (scripts/install-ceph.sh installed librados) makes packages that depend on librados;
# one without does not. scripts/check-install.sh installs and uses them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build/packages}")
scripts/install-deps.sh
scripts/release-build.sh -DCMAKE_INSTALL_PREFIX=/usr -DKAYA_DEB_LAYOUT=ON -- \
  kaya kaya_shared kaya-wal
rm -rf "$out"
mkdir -p "$out"
(cd build/release && cpack -G DEB -B "$out" >"$out/cpack.log") ||
  { cat "$out/cpack.log" >&2; echo "package: cpack failed" >&2; exit 1; }
rm -rf "$out/_CPack_Packages"
for deb in "$out"/*.deb; do
  echo "$(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
done
