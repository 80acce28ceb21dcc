// Helpers of the truncation tests (truncation_test_util.h).
#include "wal/truncation_test_util.h"

#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal::truncation_testing {

using testing::read_log;

Result<AppendResult> append_k(Writer& w, uint64_t i, DurabilityMode mode) {
  std::string key = "k";
  key += std::to_string(i);
  return w.append(Payload::put(key, "v"), mode);
}

void append_until(Writer& w, uint64_t end, DurabilityMode mode) {
  while (w.next_lsn().value() < end) {
    KAYA_ASSERT_OK(append_k(w, w.next_lsn().value(), mode));
  }
}

std::vector<uint64_t> lsns_of(io::Disk& disk, const WalConfig& config) {
  auto log = read_log(disk, config);
  EXPECT_TRUE(log.ok()) << log.error().to_string();
  std::vector<uint64_t> out;
  if (log.ok()) {
    for (const Record& r : log->records) out.push_back(r.lsn.value());
  }
  return out;
}

std::vector<uint64_t> range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

}  // namespace kaya::wal::truncation_testing
