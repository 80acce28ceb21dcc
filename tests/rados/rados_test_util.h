// Helpers for the tests that need a Ceph cluster (scripts/test-rados.sh starts one and
// sets CEPH_CONF and KAYA_CEPH_POOL). Without a cluster they fail, saying so.
#pragma once

#include <memory>
#include <string>
#include <string_view>

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

}  // namespace kaya::rados_testing
