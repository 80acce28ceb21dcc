// Rotation closes the sealed segment off the append path (docs/durability.md,
// "Rotation"): relaxed appends go on while the close's fsync runs, nothing of a later
// segment is made durable before the close is, at most two closes are in flight, and a
// power loss in between loses only records that were never durable, moved aside.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal_test_util.h"

namespace kaya::wal {
namespace {

using io::SimDisk;
using testing::FsyncGate;
using testing::read_log;
using namespace std::chrono_literals;

constexpr auto kStrict = DurabilityMode::kStrict;
constexpr auto kRelaxed = DurabilityMode::kRelaxed;
// Generous bound for waits that must end; never a timing assertion.
constexpr auto kLiveness = std::chrono::seconds(60);

// Four records of 249 bytes fill a segment; the fifth rotates.
constexpr uint64_t kRecordsPerSegment = 4;
WalConfig small_segments() {
  WalConfig config;
  config.segment_max_bytes = 1024;
  return config;
}

Payload payload_of(uint64_t i, std::string& value) {
  value.assign(200, static_cast<char>('a' + i % 26));
  return Payload::put("k", value);
}

std::unique_ptr<Writer> open_writer(SimDisk& disk) {
  auto w = Writer::open(small_segments(), disk);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return w.ok() ? std::move(w).value() : nullptr;
}

Result<AppendResult> append_one(Writer& w, uint64_t i, DurabilityMode mode) {
  std::string value;
  return w.append(payload_of(i, value), mode);
}

// Opens the gate when the test ends, whatever failed, so that no thread stays held.
struct OpenAtExit {
  FsyncGate& gate;
  ~OpenAtExit() { gate.open(); }
};

// Appends records first..last (LSN i for record i) in `mode`.
void append_range(Writer& w, uint64_t first, uint64_t last, DurabilityMode mode) {
  for (uint64_t i = first; i <= last; ++i) {
    auto r = append_one(w, i, mode);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_EQ(r->lsn, Lsn(i));
  }
}

TEST(RotationTest, RelaxedAppendsGoOnWhileTheSealedSegmentsFsyncIsHeld) {
  SimDisk disk;
  FsyncGate gate(disk);
  auto w = open_writer(disk);
  ASSERT_NE(w, nullptr);
  append_range(*w, 1, kRecordsPerSegment, kStrict);
  gate.close();
  // Record 5 rotates: segment 1's close (its fsync) is held at the gate, yet the
  // relaxed appends into segment 2 return.
  auto appends = std::async(std::launch::async, [&] {
    append_range(*w, kRecordsPerSegment + 1, 2 * kRecordsPerSegment, kRelaxed);
  });
  OpenAtExit open_at_exit{gate};
  gate.wait_for_held();
  ASSERT_EQ(appends.wait_for(kLiveness), std::future_status::ready)
      << "a relaxed append waited for the sealed segment's fsync";
  appends.get();
  EXPECT_EQ(w->stats().active_segment_id, 2u);
  EXPECT_EQ(w->stats().durable_lsn_end, Lsn(kRecordsPerSegment + 1));
  gate.open();
  KAYA_ASSERT_OK(w->sync());
  EXPECT_EQ(w->stats().durable_lsn_end, Lsn(2 * kRecordsPerSegment + 1));
  KAYA_ASSERT_OK(w->close());
  auto log = read_log(disk, small_segments());
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), 2 * kRecordsPerSegment);
  EXPECT_TRUE(log->report.anomalies.empty());
}

TEST(RotationTest, NothingOfTheNextSegmentIsDurableBeforeTheSealedOneIsClosed) {
  SimDisk disk;
  FsyncGate gate(disk);
  auto w = open_writer(disk);
  ASSERT_NE(w, nullptr);
  append_range(*w, 1, kRecordsPerSegment, kRelaxed);
  gate.close();
  auto rotated = std::async(std::launch::async, [&] {
    append_range(*w, kRecordsPerSegment + 1, kRecordsPerSegment + 1, kRelaxed);
  });
  OpenAtExit open_at_exit{gate};
  gate.wait_for_held();  // segment 1's close
  ASSERT_EQ(rotated.wait_for(kLiveness), std::future_status::ready)
      << "the rotating append waited for the sealed segment's fsync";
  rotated.get();
  auto strict = std::async(std::launch::async, [&] {
    return append_one(*w, kRecordsPerSegment + 2, kStrict);
  });
  EXPECT_EQ(strict.wait_for(50ms), std::future_status::timeout)
      << "a strict append in segment 2 returned before segment 1 was closed";
  EXPECT_EQ(w->stats().durable_lsn_end, Lsn(1));
  auto durable = TailingReader::open(*w, Lsn(1));
  KAYA_ASSERT_OK(durable);
  auto r = (*durable)->next(10ms);
  KAYA_ASSERT_OK(r);
  EXPECT_FALSE(r->has_value()) << "a durable-only reader yielded a record not yet closed";
  gate.open();
  auto acked = strict.get();
  KAYA_ASSERT_OK(acked);
  EXPECT_TRUE(acked->durable);
  EXPECT_EQ(w->stats().durable_lsn_end, Lsn(kRecordsPerSegment + 3));
  KAYA_ASSERT_OK(w->close());
}

// The rotating append creates the next segment without syncing the directory (a
// directory sync right after a segment's worth of writes waits for their writeback on
// ext4); the close syncs it, after the sealed segment's fsync, before any record of the
// new segment is durable. Then a power loss keeps the new segment.
TEST(RotationTest, TheCloseNotTheRotationSyncsTheNewSegmentsEntry) {
  SimDisk disk;
  FsyncGate gate(disk);
  auto w = open_writer(disk);
  ASSERT_NE(w, nullptr);
  append_range(*w, 1, kRecordsPerSegment, kRelaxed);
  const uint64_t dir_syncs = disk.fsync_dir_count();
  gate.close();
  auto rotated = std::async(std::launch::async, [&] {
    append_range(*w, kRecordsPerSegment + 1, kRecordsPerSegment + 1, kRelaxed);
  });
  OpenAtExit open_at_exit{gate};
  gate.wait_for_held();  // segment 1's close, at its fsync
  ASSERT_EQ(rotated.wait_for(kLiveness), std::future_status::ready);
  rotated.get();
  EXPECT_EQ(disk.fsync_dir_count(), dir_syncs)
      << "the directory was synced by the rotation, or by the close before its fsync";
  gate.open();
  KAYA_ASSERT_OK(w->sync());
  EXPECT_EQ(disk.fsync_dir_count(), dir_syncs + 1);
  EXPECT_EQ(w->stats().durable_lsn_end, Lsn(kRecordsPerSegment + 2));
  testing::crash_with_writer(disk, w);
  auto log = read_log(disk, small_segments());
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), kRecordsPerSegment + 1);
  EXPECT_TRUE(log->report.anomalies.empty());
}

TEST(RotationTest, AtMostTwoClosesAreInFlight) {
  SimDisk disk;
  FsyncGate gate(disk);
  auto w = open_writer(disk);
  ASSERT_NE(w, nullptr);
  append_range(*w, 1, kRecordsPerSegment, kStrict);
  gate.close();
  // Segments 1 and 2 sealed and closing, segment 3 filled: the rotation to segment 4
  // must close segment 1 itself, which waits for the held fsync.
  const uint64_t filled = 3 * kRecordsPerSegment;
  auto appends = std::async(std::launch::async, [&] {
    append_range(*w, kRecordsPerSegment + 1, filled + 1, kRelaxed);
  });
  OpenAtExit open_at_exit{gate};
  gate.wait_for_held();
  EXPECT_EQ(appends.wait_for(50ms), std::future_status::timeout)
      << "a third segment was sealed while two closes were pending";
  // (The writer's lock may be held by the rotation closing a segment itself: only the
  // disk is asked.)
  auto segments = list_segments(disk);
  KAYA_ASSERT_OK(segments);
  EXPECT_LE(segments->size(), 3u) << "segment 4 exists while two closes are pending";
  gate.open();
  ASSERT_EQ(appends.wait_for(kLiveness), std::future_status::ready);
  appends.get();
  EXPECT_EQ(w->stats().active_segment_id, 4u);
  KAYA_ASSERT_OK(w->close());
  auto log = read_log(disk, small_segments());
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), filled + 1);
}

// The writer poisoned (a failed write of segment 2) while segment 1's close runs: the
// close makes nothing durable after its fsync and writes no recovery point; a poisoned
// writer issues no more I/O (docs/durability.md, "Failures poison the writer").
TEST(RotationTest, AWriterPoisonedDuringACloseMakesNothingMoreDurable) {
  SimDisk disk;
  FsyncGate gate(disk, testing::segment(1).str());
  auto w = open_writer(disk);
  ASSERT_NE(w, nullptr);
  append_range(*w, 1, kRecordsPerSegment, kRelaxed);
  gate.close();
  OpenAtExit open_at_exit{gate};
  // Record 5 rotates; segment 1's close (the syncer thread's) is held at its fsync.
  append_range(*w, kRecordsPerSegment + 1, kRecordsPerSegment + 1, kRelaxed);
  gate.wait_for_held();
  disk.fail_nth(io::FaultKind::kWriteError, 1);
  EXPECT_FALSE(append_one(*w, kRecordsPerSegment + 2, kRelaxed).ok());
  ASSERT_TRUE(w->stats().poisoned);
  EXPECT_EQ(w->stats().durable_lsn_end, Lsn(1));
  const uint64_t fsyncs = disk.fsync_file_count();
  gate.open();
  // close() waits for the close in flight, then fails with the poisoning error.
  EXPECT_FALSE(w->close().ok());
  EXPECT_EQ(w->stats().durable_lsn_end, Lsn(1))
      << "records were made durable after the writer was poisoned";
  EXPECT_EQ(disk.fsync_file_count(), fsyncs + 1)
      << "the poisoned writer synced more than the fsync it had in flight";
}

// A power loss while segment 1's close is held: every strict record survives, the
// log is a prefix of what was appended, and what is not kept was never durable and
// lies in wal/lost/ or was a torn tail: never Corruption.
TEST(RotationTest, APowerLossBeforeTheCloseLosesOnlyRecordsNeverDurable) {
  uint64_t moved_aside = 0;
  uint64_t segment_2_gone = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    // A file system may write the new segment's entry back before the close syncs it.
    SimDisk disk(io::SimDiskOptions{.seed = seed, .new_entries_may_survive = true});
    FsyncGate gate(disk);
    auto w = open_writer(disk);
    ASSERT_NE(w, nullptr);
    append_range(*w, 1, 2, kStrict);
    append_range(*w, 3, kRecordsPerSegment, kRelaxed);
    gate.close();
    append_range(*w, kRecordsPerSegment + 1, 2 * kRecordsPerSegment + 2, kRelaxed);
    gate.wait_for_held();
    // A power loss; the writer dies with its process (its writes and fsyncs fail from
    // before the crash on, as in crash_with_writer): the held fsync then fails (it
    // must be let go for the writer's threads to end).
    for (auto kind : {io::FaultKind::kFsyncFailure, io::FaultKind::kWriteError}) {
      disk.set_fault_probability(kind, 1.0);
    }
    disk.crash();
    gate.open();
    w.reset();
    disk.clear_faults();

    auto log = read_log(disk, small_segments());
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    ASSERT_GE(log->records.size(), 2u) << "a strict record was lost";
    if (log->report.segment_ids() == std::vector<uint64_t>{1}) segment_2_gone++;
    for (size_t i = 0; i < log->records.size(); ++i) {
      EXPECT_EQ(log->records[i].lsn, Lsn(i + 1));
    }
    for (const auto& a : log->report.anomalies) {
      EXPECT_NE(a.kind, AnomalyKind::kCorruption) << a.to_string();
    }
    // Applying it: the writer reopens and continues after the last record kept.
    auto reopened = Writer::open(small_segments(), disk);
    KAYA_ASSERT_OK(reopened);
    EXPECT_EQ((*reopened)->next_lsn(), Lsn(log->records.size() + 1));
    for (const auto& d : (*reopened)->recovery_report().dropped) {
      if (!d.moved_to.empty()) moved_aside++;
    }
    KAYA_ASSERT_OK((*reopened)->close());
  }
  // The seeds reach the hole case (segment 1 torn, segment 2 kept aside) at least once,
  // and the case of segment 2's entry lost (the log ends in segment 1).
  EXPECT_GT(moved_aside, 0u);
  EXPECT_GT(segment_2_gone, 0u);
}

}  // namespace
}  // namespace kaya::wal
