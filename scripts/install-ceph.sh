#!/usr/bin/env bash
# Installs what the RADOS backend and its tests need, from Debian 12 packages (Ceph
# Pacific 16.2): the monitor and OSD daemons and the `ceph`/`rados` clients for the
# throw-away test cluster (scripts/ceph-cluster.sh), and the librados C/C++ headers
# the backend is built against. About 230 MB installed. Not needed for the main build:
# without librados kaya builds without the backend. Skips apt when all are present.
set -euo pipefail
exec "$(dirname "$0")/install-deps.sh" ceph-mon ceph-osd ceph-common librados-dev libradospp-dev
