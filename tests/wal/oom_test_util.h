// Helpers of the out-of-memory tests (writer_oom_test.cc, read_oom_test.cc), which run
// in an executable that replaces the global operator new (testing/failing_allocator.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kaya/io/disk.h"
#include "kaya/wal/writer.h"

namespace kaya::wal::oom_testing {

inline constexpr auto kStrict = DurabilityMode::kStrict;
inline constexpr auto kRelaxed = DurabilityMode::kRelaxed;

// A sweep stops here at the latest (it stops earlier once a call needs fewer
// allocations than n).
inline constexpr long kMaxSweep = 3000;

// Makes the n-th allocation of this thread fail (and, with `fail_after`, every later
// one too); disarm() ends it.
void arm(long n, bool fail_after);
void disarm();

// A 200 KiB value: past the writer's scratch buffer.
const std::string& big_value();

// The log holds exactly LSNs 1..n, with every acknowledged one among them.
void expect_contiguous(io::Disk& disk, const WalConfig& config,
                       const std::vector<uint64_t>& acked);

}  // namespace kaya::wal::oom_testing
