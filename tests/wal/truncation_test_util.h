// Helpers of the truncation tests (truncation_*test.cc): segments of a few records,
// appends of numbered records, and the LSNs a log holds.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kaya/io/disk.h"
#include "kaya/wal/writer.h"
#include "wal/writer_test_util.h"

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "\"" << (haystack) << "\" lacks \"" << (needle) << "\""

namespace kaya::wal::truncation_testing {

using testing::kStrict;

inline WalConfig small_segments() {
  WalConfig config;
  config.segment_max_bytes = 256;
  config.max_record_bytes = 256;
  return config;
}

// Appends the record "k<i>" = "v" (the payload views the key: it lives for the call).
Result<AppendResult> append_k(Writer& w, uint64_t i, DurabilityMode mode);

// Appends records until the next LSN is `end`.
void append_until(Writer& w, uint64_t end, DurabilityMode mode = kStrict);

// The LSNs of the records the log holds (read by a dry-run recovery).
std::vector<uint64_t> lsns_of(io::Disk& disk, const WalConfig& config);

// first, first + 1, ..., last
std::vector<uint64_t> range(uint64_t first, uint64_t last);

}  // namespace kaya::wal::truncation_testing
