#!/usr/bin/env bash
# Installs kaya's build and test dependencies from Debian packages (Debian 12).
# Skips apt entirely when everything is already present. With arguments, installs those
# packages instead (scripts/install-ceph.sh uses that).
set -euo pipefail

# libisal-dev: ISA-L's crc32_iscsi, the CRC32C baseline of the benchmarks only; liburing-dev:
# io_uring for bench/uring_bench only (the library uses neither).
packages=(g++ cmake ninja-build libgtest-dev libgmock-dev libbenchmark-dev clang-format clang
          libclang-rt-14-dev doxygen pkg-config make dpkg-dev file libisal-dev liburing-dev)
[ $# -gt 0 ] && packages=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "kaya: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
