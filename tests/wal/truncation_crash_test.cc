// A truncation interrupted (docs/truncation.md): a crash at every sync and before every
// disk operation of it leaves the old log or the truncated one; a pending truncation is
// refused by a kaya that does not know it, completed by recovery, reported by a dry run
// and read by inspection as recovery will.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/inspect.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/recording_disk.h"
#include "wal/truncation_test_util.h"
#include "wal/wal_test_util.h"
#include "wal/writer_test_util.h"

namespace kaya::wal {
namespace {

using io::FaultKind;
using io::SimDisk;
using testing::crash_with_writer;
using testing::kRelaxed;
using testing::kStrict;
using testing::open_or_die;
using testing::read_log;
using namespace truncation_testing;  // NOLINT(google-build-using-namespace)

// A log of LSNs 1..20 whose truncation after LSN 8 crashed right after its intent
// became durable (the flush's fsync and the intent's syncs pass, the next one fails).
void leave_pending_truncation(SimDisk& disk, const WalConfig& config) {
  auto w = open_or_die(config, disk);
  append_until(*w, 21);
  disk.fail_nth(FaultKind::kFsyncFailure, 4);
  ASSERT_FALSE(w->truncate_after(Lsn(8)).ok());
  crash_with_writer(disk, w);
}

TEST(TruncateTest, APendingTruncationIsRefusedByAKayaThatDoesNotKnowIt) {
  // A crash right after the intent became durable: the recovery point carries the
  // incompatible-feature bit, which a kaya without truncation refuses (any bit it does
  // not know: recovery_point_file_test); readers of this kaya see the log truncated.
  SimDisk disk;
  const WalConfig config = small_segments();
  leave_pending_truncation(disk, config);
  auto rp = read_recovery_point(disk);
  KAYA_ASSERT_OK(rp);
  ASSERT_TRUE(rp->has_value());
  ASSERT_TRUE((*rp)->truncation_pending()) << "the sync count of the intent changed";
  EXPECT_EQ((*rp)->incompatible_features, rp_format::kTruncationPendingFeature);
  auto reader = LogReader::open(config, disk, Lsn(5));
  KAYA_ASSERT_OK(reader);
  uint64_t last = 0;
  for (const Record& r : (*reader)->records()) last = r.lsn.value();
  EXPECT_FALSE((*reader)->error().has_value());
  EXPECT_EQ(last, 8u) << "a pending truncation ends the log at its cut";
  auto w = open_or_die(config, disk);
  EXPECT_EQ(w->next_lsn(), Lsn(9));
}

// After a crash during truncate_after(7) of a log of LSNs 1..20: the log is the old one
// or the truncated one (counted), and open completes a pending truncation.
void check_old_or_truncated(SimDisk& disk, const WalConfig& config,
                            const std::string& context, int& old_seen,
                            int& truncated_seen) {
  const std::vector<uint64_t> lsns = lsns_of(disk, config);
  if (lsns == range(1, 20)) {
    old_seen++;
  } else {
    EXPECT_EQ(lsns, range(1, 7))
        << "neither the old log nor the truncated one (" << context << ")";
    truncated_seen++;
  }
  auto w = open_or_die(config, disk);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->next_lsn().value(), lsns.empty() ? 1 : lsns.back() + 1);
  auto rp = read_recovery_point(disk);
  KAYA_ASSERT_OK(rp);
  EXPECT_FALSE((*rp)->truncation_pending()) << "open completes a pending truncation";
}

TEST(TruncateTest, ACrashAtEverySyncLeavesTheOldLogOrTheTruncatedOne) {
  const WalConfig config = small_segments();
  int old_seen = 0;
  int truncated_seen = 0;
  for (uint64_t k = 1;; ++k) {
    SCOPED_TRACE("sync " + std::to_string(k) + " of the truncation fails, then a crash");
    ASSERT_LT(k, 100u) << "the truncation never got through";
    SimDisk disk(io::SimDiskOptions{.seed = k});
    auto w = open_or_die(config, disk);
    append_until(*w, 21, k % 2 ? kStrict : kRelaxed);
    KAYA_ASSERT_OK(w->sync());
    disk.fail_nth(FaultKind::kFsyncFailure, k);
    auto rep = w->truncate_after(Lsn(7));
    const bool got_through = disk.faults_injected(FaultKind::kFsyncFailure) == 0;
    disk.clear_faults();
    EXPECT_EQ(rep.ok(), got_through) << (rep.ok() ? "" : rep.error().to_string());
    crash_with_writer(disk, w);
    check_old_or_truncated(disk, config, "", old_seen, truncated_seen);
    if (got_through) break;
  }
  // The sweep saw both sides of the intent.
  EXPECT_GT(old_seen, 0);
  EXPECT_GT(truncated_seen, 0);
}

TEST(TruncateTest, ACrashBeforeEveryDiskOperationLeavesTheOldLogOrTheTruncatedOne) {
  // Finer than the sweep above: the process dies right before the k-th operation of
  // the truncation that changes the disk (a write, a rename, a removal, a cut, a file
  // or directory sync), then the power goes.
  const WalConfig config = small_segments();
  int old_seen = 0;
  int truncated_seen = 0;
  std::vector<std::string> stopped_ops;
  for (uint64_t k = 1;; ++k) {
    SCOPED_TRACE("the process dies before operation " + std::to_string(k));
    ASSERT_LT(k, 200u) << "the truncation never got through";
    SimDisk disk(io::SimDiskOptions{.seed = k});
    testing::RecordingDisk rec(disk);
    auto w = open_or_die(config, rec);
    append_until(*w, 21, kStrict);
    // Opened again, the writer has nothing in the background (a sealed segment's
    // close, the recovery point's update after the last round): the k-th operation is
    // the same one in every pass, not a race with those threads.
    w.reset();
    w = open_or_die(config, rec);
    rec.stop_at(k);
    auto rep = w->truncate_after(Lsn(7));
    const std::string stopped = rec.stopped_at();
    const bool got_through = stopped.empty();
    EXPECT_EQ(rep.ok(), got_through) << (rep.ok() ? "" : rep.error().to_string());
    w.reset();  // (its last operations fail: the process is gone)
    disk.crash();
    if (!got_through) stopped_ops.push_back(stopped.substr(0, stopped.find(' ')));
    check_old_or_truncated(disk, config, stopped, old_seen, truncated_seen);
    if (got_through) break;
  }
  EXPECT_GT(old_seen, 0);
  EXPECT_GT(truncated_seen, 0);
  // Among the operations died before: the removal of a segment and the truncation of
  // the cut one, besides writes, renames and syncs.
  for (const char* op :
       {"remove_file", "truncate", "rename", "fsync_dir", "fsync_file"}) {
    EXPECT_NE(std::find(stopped_ops.begin(), stopped_ops.end(), op), stopped_ops.end())
        << "no crash before a " << op;
  }
}

TEST(TruncateTest, ADryRunOverAPendingTruncationChangesNothingAndReportsIt) {
  SimDisk disk;
  const WalConfig config = small_segments();
  leave_pending_truncation(disk, config);
  auto rp = read_recovery_point(disk);
  KAYA_ASSERT_OK(rp);
  ASSERT_TRUE((*rp)->truncation_pending()) << "the sync count of the intent changed";
  const uint64_t before = disk.total_bytes();
  auto log = read_log(disk, config);  // a dry run
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->report.next_lsn, Lsn(9));
  ASSERT_TRUE(log->report.completed_truncation_after.has_value());
  EXPECT_EQ(*log->report.completed_truncation_after, Lsn(8));
  EXPECT_CONTAINS(log->report.to_string(), "a pending truncation would be completed");
  EXPECT_EQ(disk.total_bytes(), before);
  // recover() completes it.
  auto done = recover(config, disk);
  KAYA_ASSERT_OK(done);
  EXPECT_EQ(done->next_lsn, Lsn(9));
  EXPECT_LT(disk.total_bytes(), before);
  EXPECT_EQ(lsns_of(disk, config), range(1, 8));
}

TEST(TruncateTest, InspectionReadsAPendingTruncationAsRecoveryWill) {
  // What lies above the cut of a pending truncation is neither the log's contents nor
  // damage, even damaged: inspection counts it apart and agrees with a dry run.
  SimDisk disk;
  const WalConfig config = small_segments();
  leave_pending_truncation(disk, config);
  auto rp = read_recovery_point(disk);
  KAYA_ASSERT_OK(rp);
  ASSERT_TRUE(rp->has_value() && (*rp)->truncation_pending());
  const uint64_t cut_segment = (*rp)->durable.segment_id;
  auto ids = list_segments(disk);
  KAYA_ASSERT_OK(ids);
  ASSERT_GT(ids->back(), cut_segment + 1) << "the test needs two segments above the cut";
  // The segment after the cut one, sealed: a damaged header there would be an anomaly.
  const auto above =
      io::RelativePath::parse(format::segment_path(cut_segment + 1)).value();
  const uint8_t junk[4] = {'j', 'u', 'n', 'k'};
  KAYA_ASSERT_OK(disk.write_at(above, 0, io::ByteView(junk, sizeof(junk))));

  auto log = inspect_log(config, disk);
  KAYA_ASSERT_OK(log);
  ASSERT_TRUE(log->pending_truncation.has_value());
  const PendingTruncation& t = *log->pending_truncation;
  EXPECT_EQ(t.after, Lsn(8));
  EXPECT_EQ(t.epoch, 1u);
  EXPECT_EQ(t.cut_segment_id, cut_segment);
  EXPECT_EQ(t.cut_offset, (*rp)->durable.end_offset());
  EXPECT_GT(t.records, 0u);
  EXPECT_GT(t.bytes, 0u);
  ASSERT_FALSE(t.segments_removed.empty());
  EXPECT_EQ(t.segments_removed.front(), cut_segment + 1);
  EXPECT_TRUE(log->anomalies.empty()) << log->anomalies.front().to_string();
  EXPECT_EQ(log->records, 8u);
  EXPECT_EQ(log->last_lsn, Lsn(8));
  ASSERT_EQ(log->segments.back().id, cut_segment);
  EXPECT_EQ(log->segments.back().truncation_cut, t.cut_offset);
  uint64_t kept_bytes = 0;
  for (uint64_t id : *ids) {
    if (id >= cut_segment) continue;
    kept_bytes +=
        disk.file_len(io::RelativePath::parse(format::segment_path(id)).value()).value();
  }
  EXPECT_EQ(log->bytes, kept_bytes + t.cut_offset);

  auto dry = read_log(disk, config);
  KAYA_ASSERT_OK(dry);
  EXPECT_EQ(log->recoverable_records, dry->report.records);
  EXPECT_EQ(log->next_lsn, dry->report.next_lsn);
  EXPECT_TRUE(dry->report.anomalies.empty());
}

TEST(TruncateTest, InspectionOfAPendingTruncationThatEmptiesTheLog) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  append_until(*w, 21);
  disk.fail_nth(FaultKind::kFsyncFailure, 4);
  ASSERT_FALSE(w->truncate_after(Lsn(0)).ok());
  crash_with_writer(disk, w);
  auto log = inspect_log(config, disk);
  KAYA_ASSERT_OK(log);
  ASSERT_TRUE(log->pending_truncation.has_value());
  EXPECT_EQ(log->pending_truncation->after, Lsn(0));
  EXPECT_EQ(log->pending_truncation->cut_offset, 0u);
  EXPECT_EQ(log->records, 0u);
  EXPECT_TRUE(log->anomalies.empty());
  auto dry = read_log(disk, config);
  KAYA_ASSERT_OK(dry);
  EXPECT_EQ(dry->report.records, 0u);
  EXPECT_EQ(log->next_lsn, dry->report.next_lsn);
  EXPECT_EQ(log->next_lsn, Lsn(1));
}

}  // namespace
}  // namespace kaya::wal
