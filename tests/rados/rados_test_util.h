// Helpers for the tests that need a Ceph cluster (scripts/test-rados.sh starts one and
// sets CEPH_CONF and KAYA_CEPH_POOL). Without a cluster they fail, saying so.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kaya/io/rados_disk.h"

namespace kaya::rados_testing {

// A name no other test run uses: "<what>-<pid>-<random>".
std::string unique_name(std::string_view what);

// Options for a fresh log of its own: the test pool, namespace unique_name(what),
// prefix "log", and a short lock (3 s, renewed every 300 ms) so tests stay quick.
io::RadosDiskOptions test_options(std::string_view what);

// RadosDisk::open(options), or an error saying the cluster is missing.
Result<std::unique_ptr<io::RadosDisk>> open_test_disk(
    const io::RadosDiskOptions& options);

// The test cluster itself, through scripts/ceph-cluster.sh and the KAYA_CEPH_DIR it
// started (scripts/test-rados.sh exports it). Each returns the script's error output
// (and exit status) as an error when it fails.
namespace cluster {

// Runs `scripts/ceph-cluster.sh VERB ARGS...` and returns what it printed on stdout.
Result<std::string> run(const std::vector<std::string>& verb_and_args);

// The ids of the cluster's OSDs (from its PID files), ascending.
Result<std::vector<int>> osd_ids();

// SIGKILLs osd.N and waits until it is gone.
Status kill_osd(int osd);
// Starts osd.N again and waits until the monitor has it up.
Status restart_osd(int osd);
// Restarts every OSD that does not run and waits until every placement group is
// active+clean: the state each test that takes OSDs away starts from and leaves.
Status heal();
// Waits until every OSD is up and every placement group active+clean.
Status wait_clean();
// The OSD acting as primary for `object` in the test pool's namespace `ns`.
Result<int> primary(const std::string& object, const std::string& ns);
// True when the cluster's OSDs keep their data in BlueStore (on a file), so a killed
// OSD restarts with its objects; false with memstore (it restarts empty).
bool keeps_data_across_restarts();
// The objects of namespace `ns` that the stopped osd.N has in its BlueStore file.
Result<std::vector<std::string>> objects_on(int osd, const std::string& ns);

}  // namespace cluster

}  // namespace kaya::rados_testing
