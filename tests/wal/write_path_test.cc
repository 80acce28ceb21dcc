// Which way a relaxed record reaches the segment in mapped mode (docs/durability.md,
// "How records reach the file"): a small one is copied into the map, a large one is
// written with one system call into the allocated space. Both read back the same.
#include <gtest/gtest.h>

#include <string>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/recording_disk.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

// The writes and appends the disk saw.
size_t writes_seen(const testing::RecordingDisk& disk) {
  return disk.count("write_at") + disk.count("append");
}

TEST(WritePathTest, SmallRelaxedRecordsAreStoredLargeOnesWritten) {
  io::SimDisk sim;
  testing::RecordingDisk disk(sim);
  WalConfig config;  // preallocate_bytes: 1 MiB, mapped on SimDisk
  auto w = Writer::open(config, disk);
  KAYA_ASSERT_OK(w);
  const std::string small(100, 's');
  const std::string large(4000, 'L');

  size_t before = writes_seen(disk);
  auto a = (*w)->append(Payload::put("a", small), DurabilityMode::kRelaxed);
  KAYA_ASSERT_OK(a);
  ASSERT_LT(a->encoded_len, 2048u);
  EXPECT_EQ(writes_seen(disk), before) << "a small relaxed record was not a store";

  before = writes_seen(disk);
  const size_t write_ats = disk.count("write_at");
  auto b = (*w)->append(Payload::put("b", large), DurabilityMode::kRelaxed);
  KAYA_ASSERT_OK(b);
  ASSERT_GE(b->encoded_len, 2048u);
  EXPECT_EQ(writes_seen(disk), before + 1);
  EXPECT_EQ(disk.count("write_at"), write_ats + 1)
      << "a large relaxed record was not written with one write_at";

  // A small one after a large one is stored again.
  before = writes_seen(disk);
  KAYA_ASSERT_OK((*w)->append(Payload::put("c", small), DurabilityMode::kRelaxed));
  EXPECT_EQ(writes_seen(disk), before);

  KAYA_ASSERT_OK((*w)->close());
  auto log = testing::read_log(sim, config);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->records.size(), 3u);
  EXPECT_EQ(log->records[1].value, large);
  EXPECT_EQ(log->records[2].value, small);
  EXPECT_TRUE(log->report.anomalies.empty());
}

}  // namespace
}  // namespace kaya::wal
