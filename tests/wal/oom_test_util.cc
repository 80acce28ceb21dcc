// Helpers of the out-of-memory tests (oom_test_util.h).
#include "wal/oom_test_util.h"

#include <gtest/gtest.h>

#include "testing/failing_allocator.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal::oom_testing {

using testing::read_log;

void arm(long n, bool fail_after) { kaya::testing::fail_allocation_after(n, fail_after); }
void disarm() { kaya::testing::disarm_allocation_failures(); }

const std::string& big_value() {
  static const std::string value(200 << 10, 'v');  // past the writer's scratch buffer
  return value;
}

void expect_contiguous(io::Disk& disk, const WalConfig& config,
                       const std::vector<uint64_t>& acked) {
  auto log = read_log(disk, config);
  KAYA_ASSERT_OK(log);
  EXPECT_TRUE(log->report.anomalies.empty()) << log->report.to_string();
  for (size_t i = 0; i < log->records.size(); ++i) {
    ASSERT_EQ(log->records[i].lsn.value(), i + 1) << "a hole in the log";
  }
  for (uint64_t lsn : acked) {
    EXPECT_LE(lsn, log->records.size()) << "acknowledged LSN " << lsn << " is missing";
  }
}

}  // namespace kaya::wal::oom_testing
