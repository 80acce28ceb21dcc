// Releasing old segments (Writer::release_before): exactly the segments below the LSN
// go, a crash or a failed directory sync leaves a log without a hole, and readers in or
// past a released segment stop or go on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/reader_test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using namespace reader_testing;  // NOLINT(google-build-using-namespace)
using io::FaultKind;
using io::SimDisk;
using testing::crash_with_writer;
using testing::read_log;
using testing::segment;
using testing::small_segments;
using namespace std::chrono_literals;

std::vector<uint64_t> segment_ids(io::Disk& disk) {
  auto ids = list_segments(disk);
  EXPECT_TRUE(ids.ok()) << ids.error().to_string();
  return ids.ok() ? *ids : std::vector<uint64_t>();
}

uint64_t file_bytes(io::Disk& disk, uint64_t id) {
  auto len = disk.file_len(segment(id));
  EXPECT_TRUE(len.ok()) << len.error().to_string();
  return len.ok() ? *len : 0;
}

TEST(ReleaseTest, RemovesExactlyTheSegmentsBelowTheLsn) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 60, kStrict, log);
  const uint64_t active = w->stats().active_segment_id;
  ASSERT_EQ(active, log.segments.rbegin()->first);
  uint64_t removed_total = 0;
  uint64_t bytes_total = 0;
  // Mid-segment LSNs keep their segment; a segment's first LSN frees the one before.
  for (uint64_t id : {uint64_t{3}, uint64_t{4}, uint64_t{9}}) {
    for (uint64_t lsn : {log.first_of(id) - 1, log.first_of(id)}) {
      SCOPED_TRACE("release_before(" + std::to_string(lsn) + ")");
      const uint64_t keep_from = lsn == log.first_of(id) ? id : id - 1;
      const std::vector<uint64_t> before = segment_ids(disk);
      uint64_t bytes = 0;
      for (uint64_t s : before) bytes += s < keep_from ? file_bytes(disk, s) : 0;
      auto report = w->release_before(Lsn(lsn));
      KAYA_ASSERT_OK(report);
      const std::vector<uint64_t> after = segment_ids(disk);
      ASSERT_FALSE(after.empty());
      EXPECT_EQ(after.front(), keep_from);
      EXPECT_EQ(after.back(), active);
      EXPECT_EQ(report->segments_removed, before.size() - after.size());
      EXPECT_EQ(report->bytes_released, bytes);
      EXPECT_EQ(report->first_lsn_kept, Lsn(log.first_of(keep_from)));
      EXPECT_NE(report->stopped_because.find("segment " + std::to_string(keep_from)),
                std::string::npos)
          << report->stopped_because;
      removed_total += report->segments_removed;
      bytes_total += report->bytes_released;
    }
  }
  EXPECT_EQ(w->stats().segments_released, removed_total);
  EXPECT_EQ(w->stats().bytes_released, bytes_total);
  EXPECT_EQ(removed_total, 8u);
}

TEST(ReleaseTest, ReleasingNothingOrBeyondTheEndIsSafe) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 40, kStrict, log);
  const std::vector<uint64_t> all = segment_ids(disk);

  auto nothing = w->release_before(Lsn(1));
  KAYA_ASSERT_OK(nothing);
  EXPECT_EQ(nothing->segments_removed, 0u);
  EXPECT_EQ(nothing->bytes_released, 0u);
  EXPECT_EQ(nothing->first_lsn_kept, Lsn(1));
  EXPECT_EQ(segment_ids(disk), all);

  // Far beyond the end: everything but the active segment goes.
  auto beyond = w->release_before(Lsn(1'000'000));
  KAYA_ASSERT_OK(beyond);
  const uint64_t active = w->stats().active_segment_id;
  EXPECT_EQ(segment_ids(disk), std::vector<uint64_t>{active});
  EXPECT_EQ(beyond->segments_removed, all.size() - 1);
  EXPECT_EQ(beyond->first_lsn_kept, Lsn(log.first_of(active)));
  EXPECT_NE(beyond->stopped_because.find("active segment"), std::string::npos)
      << beyond->stopped_because;
  auto again = w->release_before(Lsn(1'000'000));
  KAYA_ASSERT_OK(again);
  EXPECT_EQ(again->segments_removed, 0u);

  // The log stays a log: recovery sees it start at the kept LSN, the writer goes on.
  append_n(*w, 20, kStrict, log);
  auto contents = read_log(disk, config);
  KAYA_ASSERT_OK(contents);
  EXPECT_TRUE(contents->report.anomalies.empty()) << contents->report.to_string();
  EXPECT_EQ(contents->report.first_lsn, Lsn(log.first_of(active)));
  EXPECT_EQ(contents->records, log.from(log.first_of(active)));
  EXPECT_EQ(w->stats().segments_released, all.size() - 1);
}

TEST(ReleaseTest, CrashAfterReleaseRecoversWithoutAHole) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 50, kStrict, log);
  auto report = w->release_before(Lsn(log.first_of(6)));
  KAYA_ASSERT_OK(report);
  crash_with_writer(disk, w);

  auto contents = read_log(disk, config);
  KAYA_ASSERT_OK(contents);
  EXPECT_TRUE(contents->report.anomalies.empty()) << contents->report.to_string();
  EXPECT_EQ(contents->report.first_lsn, report->first_lsn_kept);
  EXPECT_EQ(contents->records, log.from(log.first_of(6)));
  // The writer continues after the last record.
  w = open_or_die(config, disk);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->next_lsn(), Lsn(51));
}

TEST(ReleaseTest, FailedDirectorySyncLeavesAContiguousLogAfterACrash) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 50, kStrict, log);
  // The second removal's directory sync fails: segment 1 is gone for good, the
  // removal of segment 2 is not durable. (The first fsync of a release is the
  // recovery point's, brought up to the durable end before anything is removed.)
  disk.fail_nth(FaultKind::kFsyncFailure, 3);
  expect_error(w->release_before(Lsn(log.first_of(6))), ErrorKind::kFsyncFailed, {});
  crash_with_writer(disk, w);

  auto contents = read_log(disk, config);
  KAYA_ASSERT_OK(contents);
  EXPECT_TRUE(contents->report.anomalies.empty()) << contents->report.to_string();
  ASSERT_FALSE(contents->records.empty());
  const uint64_t first = contents->records.front().lsn.value();
  EXPECT_EQ(first, log.first_of(2));
  EXPECT_EQ(contents->records, log.from(first));
}

TEST(ReleaseTest, ReaderInAReleasedSegmentStopsWithNotFound) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 50, kStrict, log);
  auto reader = open_reader(config, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  auto first = reader->next();
  KAYA_ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  KAYA_ASSERT_OK(w->release_before(Lsn(log.first_of(4))));

  // Whatever the reader still yields is right; it cannot reach segment 4 without
  // segments 2 and 3, so it ends with NotFound, not with a wrong record or the end.
  uint64_t next = 2;
  Result<std::optional<Record>> r = std::optional<Record>();
  while ((r = reader->next()).ok() && r->has_value()) {
    ASSERT_LT(next, log.first_of(2)) << "read past the released segment 1";
    EXPECT_EQ(**r, log.records[next - 1]);
    ++next;
  }
  expect_error(r, ErrorKind::kNotFound,
               {"was released while being read", "next LSN " + std::to_string(next)});
}

// A reader met the end of segment 1 (its last read found no more bytes); before it
// asks whether segment 2 exists, a release removes segments 1 to 3. Segment 2 missing
// does not make segment 1 the end of the log: the reader says its segment was
// released, instead of reporting the end of the log early.
TEST(ReleaseTest, ReaderAtTheEndOfASegmentReleasedWithTheNextOneStopsWithNotFound) {
  SimDisk base;
  InterposingDisk disk(base);
  const WalConfig config = small_segments();
  auto w = open_or_die(config, base);
  Log log;
  append_n(*w, 50, kStrict, log);
  auto reader = open_reader(config, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  for (uint64_t lsn = 1; lsn <= log.last_of(1); ++lsn) {
    auto r = reader->next();
    KAYA_ASSERT_OK(r);
    ASSERT_TRUE(r->has_value());
  }
  bool fired = false;
  disk.before_file_len = [&](const io::RelativePath& p) {
    if (fired || p != segment(2)) return;
    fired = true;
    ASSERT_TRUE(w->release_before(Lsn(log.first_of(4))).ok());
  };
  expect_error(
      reader->next(), ErrorKind::kNotFound,
      {"was released while being read", "next LSN " + std::to_string(log.first_of(2))});
  EXPECT_TRUE(fired);
}

TEST(ReleaseTest, ReaderThatFinishedAReleasedSegmentGoesOn) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 30, kStrict, log);
  auto reader = open_reader(config, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  for (uint64_t lsn = 1; lsn <= log.last_of(1); ++lsn) {
    auto r = reader->next();
    KAYA_ASSERT_OK(r);
    ASSERT_TRUE(r->has_value());
  }
  // Segment 1 goes while the reader is at its end: the first LSN of segment 2
  // proves that nothing was missed.
  KAYA_ASSERT_OK(w->release_before(Lsn(log.first_of(2))));
  auto rest = read_to_end(*reader);
  KAYA_ASSERT_OK(rest);
  EXPECT_EQ(*rest, log.from(log.first_of(2)));
}

TEST(ReleaseTest, TailingReaderKeepsFollowingWhileOldSegmentsAreReleased) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  ASSERT_NE(w, nullptr);
  auto tailer = TailingReader::open(*w, Lsn(1));
  KAYA_ASSERT_OK(tailer);
  constexpr uint64_t kRecords = 1500;
  std::atomic<uint64_t> tailer_position{1};
  Log log;
  std::thread writer_thread([&] {
    for (uint64_t i = 0; i < kRecords; ++i) {
      auto r = append_one(*w, i, kStrict, log);
      if (!r.ok()) {
        ADD_FAILURE() << r.error().to_string();
        return;
      }
      // A checkpoint up to what the reader has consumed.
      if (i % 20 == 0) {
        auto released = w->release_before(Lsn(tailer_position.load()));
        if (!released.ok()) ADD_FAILURE() << released.error().to_string();
      }
    }
  });
  std::vector<Record> received;
  const auto guard = std::chrono::steady_clock::now() + kLiveness;
  while (received.size() < kRecords && std::chrono::steady_clock::now() < guard) {
    auto r = (*tailer)->next(100ms);
    if (!r.ok()) {
      ADD_FAILURE() << r.error().to_string();
      break;
    }
    if (r->has_value()) received.push_back(std::move(**r));
    tailer_position.store((*tailer)->position().value());
  }
  writer_thread.join();
  ASSERT_EQ(received.size(), kRecords) << "the liveness guard passed";
  EXPECT_EQ(received, log.records);
  EXPECT_GT(w->stats().segments_released, 10u);
}

}  // namespace
}  // namespace kaya::wal
