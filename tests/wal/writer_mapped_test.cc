// The Writer's mapped write path (preallocated segments written through a map): rotation
// and close cut the preallocated space, a reopen after a crash cuts the zero tail, and
// the system-call path writes the same log byte for byte.
#include <gtest/gtest.h>

#include <map>

#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"
#include "wal/writer_test_util.h"

namespace kaya::wal {
namespace {

using io::SimDisk;
using testing::kRelaxed;
using testing::kStrict;
using testing::open_or_die;
using testing::read_log;
using testing::segment;

// The mapped path: segment space is allocated ahead in windows and cut back to the
// records at rotation and close.
TEST(WriterMappedTest, RotationAndCloseCutThePreallocatedSpace) {
  for (bool file_disk : {false, true}) {
    SCOPED_TRACE(file_disk ? "FileDisk" : "SimDisk");
    kaya::testing::TempDir dir;
    std::unique_ptr<io::Disk> disk;
    if (file_disk) {
      disk = io::FileDisk::open(dir.path()).value();
    } else {
      disk = std::make_unique<SimDisk>();
    }
    WalConfig config;
    config.segment_max_bytes = 10000;
    config.max_record_bytes = 1000;
    config.preallocate_bytes = 4096;
    auto w = open_or_die(config, *disk);
    std::map<uint64_t, uint64_t> ends;  // segment -> end of its last record
    for (int i = 0; i < 500; ++i) {
      auto r = w->append(
          Payload::put(kaya::testing::cat("k", std::to_string(i)), std::string(40, 'v')),
          i % 2 ? kStrict : kRelaxed);
      KAYA_ASSERT_OK(r);
      ends[r->segment_id] = r->offset + r->encoded_len;
      // The active segment holds allocated space beyond its records.
      EXPECT_GE(*disk->file_len(segment(r->segment_id)), ends[r->segment_id]);
    }
    ASSERT_GT(ends.size(), 3u);
    EXPECT_GT(*disk->file_len(segment(ends.rbegin()->first)), ends.rbegin()->second);
    KAYA_ASSERT_OK(w->close());
    for (const auto& [id, end] : ends) EXPECT_EQ(*disk->file_len(segment(id)), end) << id;
    auto log = read_log(*disk, config);
    KAYA_ASSERT_OK(log);
    EXPECT_EQ(log->records.size(), 500u);
    EXPECT_TRUE(log->report.anomalies.empty());
  }
}

TEST(WriterMappedTest, ReopenAfterACrashCutsTheZeroTailAndContinues) {
  SimDisk disk(io::SimDiskOptions{.seed = 3, .tear_on_crash = false});
  WalConfig config;
  config.preallocate_bytes = 4096;
  auto w = open_or_die(config, disk);
  for (int i = 0; i < 10; ++i) KAYA_ASSERT_OK(w->append(Payload::put("k", "v"), kStrict));
  const uint64_t data_end = 10 * Payload::put("k", "v").encoded_len();
  testing::crash_with_writer(disk, w);
  EXPECT_EQ(*disk.file_len(segment(1)), 4096u) << "the window survives the crash";
  auto reopened = open_or_die(config, disk);
  EXPECT_TRUE(reopened->recovery_report().anomalies.empty());
  EXPECT_EQ(*disk.file_len(segment(1)), data_end);
  auto r = reopened->append(Payload::put("k", "v"), kStrict);
  KAYA_ASSERT_OK(r);
  EXPECT_EQ(r->lsn, Lsn(11));
  EXPECT_EQ(r->offset, data_end);
}

// The bytes of every segment, by id.
std::map<uint64_t, std::vector<uint8_t>> segment_bytes(io::Disk& disk) {
  std::map<uint64_t, std::vector<uint8_t>> out;
  const std::vector<uint64_t> ids = list_segments(disk).value();
  for (uint64_t id : ids) {
    std::vector<uint8_t> bytes(disk.file_len(segment(id)).value());
    EXPECT_EQ(io::read_full(disk, segment(id), 0, bytes).value(), bytes.size());
    out[id] = std::move(bytes);
  }
  return out;
}

TEST(WriterMappedTest, TheSystemCallPathWritesTheSameLog) {
  SimDisk mapped_disk, syscall_disk;
  WalConfig mapped, syscall;
  syscall.preallocate_bytes = 0;
  mapped.segment_max_bytes = syscall.segment_max_bytes = 700;
  mapped.max_record_bytes = syscall.max_record_bytes = 700;
  auto a = open_or_die(mapped, mapped_disk);
  auto b = open_or_die(syscall, syscall_disk);
  for (int i = 0; i < 100; ++i) {
    const std::string key = "key" + std::to_string(i), value(i % 37, 'x');
    const Payload p = Payload::put(key, value);
    auto ra = a->append(p, i % 3 ? kRelaxed : kStrict);
    auto rb = b->append(p, i % 3 ? kRelaxed : kStrict);
    KAYA_ASSERT_OK(ra);
    KAYA_ASSERT_OK(rb);
    EXPECT_EQ(ra->segment_id, rb->segment_id);
    EXPECT_EQ(ra->offset, rb->offset);
  }
  KAYA_ASSERT_OK(a->close());
  KAYA_ASSERT_OK(b->close());
  EXPECT_EQ(segment_bytes(mapped_disk), segment_bytes(syscall_disk));
}

}  // namespace
}  // namespace kaya::wal
