// Writer::truncate_after: what it removes, what it keeps, the next LSN, appends and
// readers overtaken by it, and a crash at every sync of it (docs/truncation.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/inspect.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "wal/recording_disk.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using io::FaultKind;
using io::SimDisk;
using testing::crash_with_writer;
using testing::FsyncGate;
using testing::read_log;

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "\"" << (haystack) << "\" lacks \"" << (needle) << "\""

constexpr auto kStrict = DurabilityMode::kStrict;
constexpr auto kRelaxed = DurabilityMode::kRelaxed;

WalConfig small_segments() {
  WalConfig config;
  config.segment_max_bytes = 256;
  config.max_record_bytes = 256;
  return config;
}

std::unique_ptr<Writer> open_or_die(const WalConfig& config, io::Disk& disk) {
  auto w = Writer::open(config, disk);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return w.ok() ? std::move(w).value() : nullptr;
}

// Appends the record "k<i>" = "v" (the payload views the key: it lives for the call).
Result<AppendResult> append_k(Writer& w, uint64_t i, DurabilityMode mode) {
  std::string key = "k";
  key += std::to_string(i);
  return w.append(Payload::put(key, "v"), mode);
}

// Appends records until the next LSN is `end`.
void append_until(Writer& w, uint64_t end, DurabilityMode mode = kStrict) {
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

TEST(TruncateTest, RemovesTheRecordsAboveAndTheNextAppendGetsTheLsnAfter) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  append_until(*w, 31);
  ASSERT_GT(w->stats().active_segment_id, 3u);
  auto rep = w->truncate_after(Lsn(12));
  KAYA_ASSERT_OK(rep);
  EXPECT_EQ(rep->next_lsn, Lsn(13));
  EXPECT_EQ(rep->records_removed, 18u);
  EXPECT_GT(rep->segments_removed, 0u);
  EXPECT_EQ(rep->epoch, 1u);
  EXPECT_EQ(w->truncation_epoch(), 1u);
  EXPECT_EQ(w->next_lsn(), Lsn(13));
  // The next record takes the removed record's LSN and sequence number.
  auto a = w->append(Payload::put("new", "13"), kStrict);
  KAYA_ASSERT_OK(a);
  EXPECT_EQ(a->lsn, Lsn(13));
  EXPECT_EQ(a->sequence, SequenceNumber(13));
  KAYA_ASSERT_OK(w->close());

  auto log = read_log(disk, config);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->records.size(), 13u);
  EXPECT_EQ(log->records[11].key, "k12");
  EXPECT_EQ(log->records[12].key, "new");
  // The recovery point keeps the epoch, without the pending bit.
  auto rp = read_recovery_point(disk);
  KAYA_ASSERT_OK(rp);
  EXPECT_EQ((*rp)->truncation_epoch, 1u);
  EXPECT_FALSE((*rp)->truncation_pending());
  EXPECT_EQ((*rp)->truncated_after, Lsn(12));
  // A reopened writer continues after LSN 13, at epoch 1.
  w = open_or_die(config, disk);
  EXPECT_EQ(w->next_lsn(), Lsn(14));
  EXPECT_EQ(w->truncation_epoch(), 1u);
}

TEST(TruncateTest, TheLastLsnRemovesNothingAndStartsNoEpoch) {
  SimDisk disk;
  auto w = open_or_die({}, disk);
  append_until(*w, 6);
  auto rep = w->truncate_after(Lsn(5));
  KAYA_ASSERT_OK(rep);
  EXPECT_EQ(rep->records_removed, 0u);
  EXPECT_EQ(rep->epoch, 0u);
  EXPECT_EQ(w->next_lsn(), Lsn(6));
}

TEST(TruncateTest, BeyondTheEndIsRefusedAndChangesNothing) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  append_until(*w, 11);
  auto rep = w->truncate_after(Lsn(11));
  ASSERT_FALSE(rep.ok());
  EXPECT_EQ(rep.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_CONTAINS(rep.error().message(), "beyond the end of the log");
  EXPECT_CONTAINS(rep.error().message(), "last LSN is 10");
  EXPECT_EQ(w->truncation_epoch(), 0u);
  KAYA_ASSERT_OK(append_k(*w, 11, kStrict));
  KAYA_ASSERT_OK(w->close());
  EXPECT_EQ(lsns_of(disk, config), range(1, 11));
}

TEST(TruncateTest, BelowTheFirstLsnMinusOneIsRefused) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  append_until(*w, 31);
  auto released = w->release_before(Lsn(20));
  KAYA_ASSERT_OK(released);
  ASSERT_GT(released->segments_removed, 0u);
  const uint64_t first = released->first_lsn_kept->value();
  ASSERT_GT(first, 2u);
  auto rep = w->truncate_after(Lsn(first - 2));
  ASSERT_FALSE(rep.ok());
  EXPECT_EQ(rep.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_CONTAINS(rep.error().message(),
                  "the log starts at LSN " + std::to_string(first));
  // Nothing changed; appends go on.
  EXPECT_EQ(w->next_lsn(), Lsn(31));
  KAYA_ASSERT_OK(append_k(*w, 31, kStrict));
  KAYA_ASSERT_OK(w->close());
  EXPECT_EQ(lsns_of(disk, config), range(first, 31));
}

TEST(TruncateTest, DroppingEverythingKeepsTheNextLsnAcrossAReopen) {
  // Raft after a snapshot: truncate_after(first_lsn - 1) empties the log; LSNs never
  // restart from 1, also after the writer is reopened.
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  append_until(*w, 31);
  auto released = w->release_before(Lsn(20));
  KAYA_ASSERT_OK(released);
  const uint64_t first = released->first_lsn_kept->value();
  ASSERT_GT(first, 1u);
  auto rep = w->truncate_after(Lsn(first - 1));
  KAYA_ASSERT_OK(rep);
  EXPECT_EQ(rep->next_lsn, Lsn(first));
  EXPECT_EQ(w->next_lsn(), Lsn(first));
  KAYA_ASSERT_OK(w->close());
  EXPECT_TRUE(lsns_of(disk, config).empty());

  w = open_or_die(config, disk);
  EXPECT_EQ(w->next_lsn(), Lsn(first));
  auto a = w->append(Payload::noop(), kStrict);
  KAYA_ASSERT_OK(a);
  EXPECT_EQ(a->lsn, Lsn(first));
  EXPECT_EQ(a->sequence, SequenceNumber(first));  // the first removed record's
  KAYA_ASSERT_OK(w->close());
  EXPECT_EQ(lsns_of(disk, config), range(first, first));

  // open_at may not move an emptied log's next LSN either.
  auto at = Writer::open_at(config, disk, Lsn(1), SequenceNumber(1));
  ASSERT_FALSE(at.ok());
  EXPECT_EQ(at.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(TruncateTest, DroppingEverythingOfAnEmptiedLogAfterReopenKeepsTheNextLsn) {
  SimDisk disk;
  auto w = open_or_die({}, disk);
  append_until(*w, 4);
  KAYA_ASSERT_OK(w->truncate_after(Lsn(0)));
  KAYA_ASSERT_OK(w->close());
  w = open_or_die({}, disk);
  EXPECT_EQ(w->next_lsn(), Lsn(1));
  EXPECT_EQ(w->truncation_epoch(), 1u);
}

TEST(TruncateTest, RelaxedRecordsAboveAndBelowTheCut) {
  // Records not durable yet: those kept are durable when truncate_after returns.
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  append_until(*w, 21, kRelaxed);
  KAYA_ASSERT_OK(w->truncate_after(Lsn(15)));
  EXPECT_EQ(w->stats().durable_lsn_end, Lsn(16));
  crash_with_writer(disk, w);
  EXPECT_EQ(lsns_of(disk, config), range(1, 15));
}

// One try: LSN 3 leads a sync held at the gate, LSN 4 waits for the next round, and a
// truncation after LSN 3 starts meanwhile. Returns whether LSN 4 was in flight when it
// cut (its append failed, naming the truncation); false when a round covered it first
// (acknowledged, then removed).
bool strict_append_cut_in_flight(std::chrono::milliseconds head_start) {
  SimDisk disk;
  auto w = open_or_die({}, disk);
  append_until(*w, 3);
  FsyncGate gate(disk);
  gate.close();
  auto leader = std::async(std::launch::async, [&] { return append_k(*w, 3, kStrict); });
  gate.wait_for_held();
  auto waiter = std::async(std::launch::async, [&] { return append_k(*w, 4, kStrict); });
  while (w->next_lsn() != Lsn(5)) std::this_thread::yield();
  auto truncation =
      std::async(std::launch::async, [&] { return w->truncate_after(Lsn(3)); });
  // The truncation waits for the round in progress; the head start lets it get there
  // before the round ends (else the syncer covers LSN 4 first).
  std::this_thread::sleep_for(head_start);
  gate.open();
  EXPECT_TRUE(leader.get().ok());
  auto cut = truncation.get();
  EXPECT_TRUE(cut.ok()) << cut.error().to_string();
  auto waited = waiter.get();
  if (!waited.ok()) {
    EXPECT_EQ(waited.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_CONTAINS(waited.error().message(), "removed by a truncation");
  }
  // Either way the log ends at LSN 3 and goes on with LSN 4.
  EXPECT_EQ(w->next_lsn(), Lsn(4));
  auto again = w->append(Payload::put("after", "cut"), kStrict);
  EXPECT_TRUE(again.ok() && again->lsn == Lsn(4));
  EXPECT_TRUE(w->close().ok());
  EXPECT_EQ(lsns_of(disk, {}), range(1, 4));
  return !waited.ok();
}

TEST(TruncateTest, AStrictAppendInFlightAboveTheCutFails) {
  // Which side wins depends on the threads' timing: tried with longer head starts
  // until the truncation overtook the waiting append at least once.
  bool seen = false;
  for (int i = 1; i <= 10 && !seen && !HasFailure(); ++i) {
    seen = strict_append_cut_in_flight(std::chrono::milliseconds(20 * i));
  }
  EXPECT_TRUE(seen) << "no append in flight above the cut ever failed";
}

TEST(TruncateTest, ALogReaderOpenedBeforeTheTruncationNeverReturnsAReusedLsn) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  append_until(*w, 21);
  auto reader = LogReader::open(config, disk, Lsn(1));
  KAYA_ASSERT_OK(reader);
  for (int i = 0; i < 3; ++i) KAYA_ASSERT_OK((*reader)->next());
  KAYA_ASSERT_OK(w->truncate_after(Lsn(10)));
  // The same LSNs again, with other contents.
  while (w->next_lsn().value() < 21) {
    KAYA_ASSERT_OK(w->append(Payload::put("again", "x"), kStrict));
  }
  // Whatever it had read ahead was in the log when it read it; past that, it fails
  // with the new epoch rather than return a record with a reused LSN as the old one.
  for (;;) {
    auto next = (*reader)->next();
    if (!next.ok()) {
      EXPECT_EQ(next.error().kind(), ErrorKind::kNotFound);
      EXPECT_CONTAINS(next.error().message(), "truncation epoch 1");
      EXPECT_CONTAINS(next.error().message(), "reader opened at epoch 0");
      break;
    }
    ASSERT_TRUE(next->has_value()) << "the reader ended without noticing";
    const Record& r = **next;
    if (r.lsn.value() > 10) {
      EXPECT_NE(r.key, "again") << "a record written after the truncation came out";
    }
  }
  // A reader opened now reads the new log.
  auto fresh = LogReader::open(config, disk, Lsn(11));
  KAYA_ASSERT_OK(fresh);
  auto r = (*fresh)->next();
  KAYA_ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->key, "again");
}

TEST(TruncateTest, ATailingReaderFailsWithTheNewEpoch) {
  SimDisk disk;
  auto w = open_or_die({}, disk);
  append_until(*w, 6);
  auto tail = TailingReader::open(*w, Lsn(4));
  KAYA_ASSERT_OK(tail);
  auto first = (*tail)->next(std::chrono::microseconds(0));
  KAYA_ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  KAYA_ASSERT_OK(w->truncate_after(Lsn(4)));
  KAYA_ASSERT_OK(w->append(Payload::put("again", "5"), kStrict));
  auto next = (*tail)->next(std::chrono::microseconds(0));
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().kind(), ErrorKind::kNotFound);
  EXPECT_CONTAINS(next.error().message(), "truncation epoch 1");
}

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
    append_until(*w, 21, k % 2 ? kStrict : kRelaxed);
    KAYA_ASSERT_OK(w->sync());
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
