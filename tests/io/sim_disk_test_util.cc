// Helpers of SimDisk's own tests (sim_disk_test_util.h).
#include "io/sim_disk_test_util.h"

#include <span>

#include "testing/strings.h"

namespace kaya::io::sim_testing {

SimDiskOptions no_tear(uint64_t seed) {
  SimDiskOptions options;
  options.seed = seed;
  options.tear_on_crash = false;
  return options;
}

std::string contents(SimDisk& disk, const RelativePath& path) {
  auto len = disk.file_len(path);
  if (!len.ok()) return kaya::testing::cat("<", len.error().to_string(), ">");
  std::string out(*len, '\0');
  auto n =
      read_full(disk, path, 0,
                std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  if (!n.ok()) return kaya::testing::cat("<", n.error().to_string(), ">");
  out.resize(*n);
  return out;
}

bool is_prefix(const std::string& prefix, const std::string& of) {
  return of.compare(0, prefix.size(), prefix) == 0 && prefix.size() <= of.size();
}

}  // namespace kaya::io::sim_testing
