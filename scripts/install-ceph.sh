#!/usr/bin/env bash
# Installs what the RADOS backend and its tests need, from Debian 12 packages (Ceph
# Pacific 16.2): the monitor and OSD daemons and the `ceph`/`rados` clients for the
# throw-away test cluster (scripts/ceph-cluster.sh), and the librados C/C++ headers
# the backend is built against. About 230 MB installed. Not needed for the main build:
# without librados kaya builds without the backend. Skips apt when all are present.
set -euo pipefail

packages=(ceph-mon ceph-osd ceph-common librados-dev libradospp-dev)

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
