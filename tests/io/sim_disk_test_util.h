// Helpers of SimDisk's own tests (sim_disk_*_test.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kaya/io/sim_disk.h"
#include "testing/disk_paths.h"

namespace kaya::io::sim_testing {

using kaya::testing::B;
using kaya::testing::P;

// A SimDisk that drops unsynced bytes on a crash but never tears them.
SimDiskOptions no_tear(uint64_t seed = 1);

// The file's bytes as a string, or "<error>".
std::string contents(SimDisk& disk, const RelativePath& path);

bool is_prefix(const std::string& prefix, const std::string& of);

}  // namespace kaya::io::sim_testing
