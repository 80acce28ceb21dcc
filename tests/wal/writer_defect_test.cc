// Defects the Writer once had, each kept by a test: a failed fsync or write poisons it
// (never retried), every waiter of a failed group gets the error, group commit neither
// strands nor delays an append, segments and their entries are durable in order, and
// what open() finds is durable when it returns.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"
#include "wal/writer_test_util.h"

namespace kaya::wal {
namespace {

using io::FaultKind;
using io::SimDisk;
using testing::FsyncGate;
using testing::kRelaxed;
using testing::kStrict;
using testing::open_or_die;
using testing::read_log;
using testing::segment;

// Defect 1: after a failed fsync the writer is poisoned. The original kept going,
// reused the LSN and could make the "failed" record durable later.
TEST(WriterDefectTest, FailedFsyncPoisonsTheWriterAndIsNeverRetried) {
  SimDisk disk;
  auto w = open_or_die({}, disk);
  KAYA_ASSERT_OK(w->append(Payload::put("a", "1"), kStrict));
  disk.fail_nth(FaultKind::kFsyncFailure);
  auto failed = w->append(Payload::put("b", "2"), kStrict);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::kFsyncFailed);
  const uint64_t fsyncs = disk.fsync_file_count();
  const uint64_t len = *disk.file_len(segment(1));
  for (auto mode : {kStrict, kRelaxed}) {
    auto later = w->append(Payload::put("c", "3"), mode);
    ASSERT_FALSE(later.ok());
    EXPECT_EQ(later.error().kind(), ErrorKind::kFsyncFailed);
    EXPECT_NE(later.error().message().find("poisoned"), std::string::npos);
  }
  EXPECT_FALSE(w->sync().ok());
  EXPECT_EQ(disk.fsync_file_count(), fsyncs) << "an fsync was retried";
  EXPECT_EQ(*disk.file_len(segment(1)), len) << "bytes written after the failure";
  EXPECT_TRUE(w->stats().poisoned);
  EXPECT_EQ(w->next_lsn(), Lsn(3)) << "a poisoned writer must not hand out LSNs";
  EXPECT_FALSE(w->close().ok());

  // Reopening recovers what is really on disk and continues after it.
  auto reopened = open_or_die({}, disk);
  auto log = read_log(disk);
  KAYA_ASSERT_OK(log);
  auto next = reopened->append(Payload::noop(), kStrict);
  KAYA_ASSERT_OK(next);
  EXPECT_EQ(next->lsn.value(), log->records.size() + 1);
}

TEST(WriterDefectTest, FailedWritePoisonsAndReopenCutsTheTornRecord) {
  SimDisk disk;
  auto w = open_or_die({}, disk);
  KAYA_ASSERT_OK(w->append(Payload::put("a", "1"), kStrict));
  disk.fail_nth(FaultKind::kShortWrite);
  auto failed = w->append(Payload::put("b", std::string(100, 'x')), kRelaxed);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::kIo);
  EXPECT_NE(failed.error().message().find("LSN 2"), std::string::npos)
      << failed.error().message();
  auto later = w->append(Payload::put("c", "3"), kRelaxed);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().kind(), ErrorKind::kIo);
  w.reset();

  auto reopened = open_or_die({}, disk);
  EXPECT_EQ(reopened->next_lsn(), Lsn(2));
  KAYA_ASSERT_OK(reopened->append(Payload::put("c", "3"), kStrict));
  auto log = read_log(disk);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->records.size(), 2u);
  EXPECT_EQ(log->records[1].key, "c");
  EXPECT_TRUE(log->report.anomalies.empty());
}

TEST(WriterDefectTest, EveryWaiterOfAFailedBatchGetsTheRealError) {
  SimDisk disk;
  FsyncGate gate(disk);
  auto w = open_or_die({}, disk);
  gate.close();
  auto first = std::async(std::launch::async,
                          [&] { return w->append(Payload::put("a", "1"), kStrict); });
  gate.wait_for_held();  // the leader of record 1 is inside its fsync
  std::vector<std::future<Result<AppendResult>>> batch;
  for (int i = 0; i < 4; ++i) {
    batch.push_back(std::async(
        std::launch::async, [&] { return w->append(Payload::put("b", "2"), kStrict); }));
  }
  // All four are assigned (and wait for the next sync) while the first fsync is held.
  while (w->next_lsn() < Lsn(6)) std::this_thread::yield();
  disk.fail_nth(FaultKind::kFsyncFailure, 2);  // the fsync after the held one fails
  gate.open();
  KAYA_EXPECT_OK(first.get());
  for (auto& f : batch) {
    auto r = f.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), ErrorKind::kFsyncFailed) << r.error().to_string();
  }
}

// Defect 2: group-commit waiters waited forever when no further append arrived.
TEST(WriterDefectTest, ALoneStrictAppendIsNotLeftWaitingForABatch) {
  SimDisk disk;
  WalConfig config;
  config.batch.max_records = 1000;
  config.batch.max_bytes = 1 << 20;
  config.batch.flush_interval_us = 2000;
  auto w = open_or_die(config, disk);
  auto done = std::async(std::launch::async,
                         [&] { return w->append(Payload::put("k", "v"), kStrict); });
  // A liveness check, not a timing assertion: the bound is 2 ms plus one fsync.
  ASSERT_EQ(done.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "strict append hung waiting for companions";
  auto r = done.get();
  KAYA_ASSERT_OK(r);
  EXPECT_TRUE(r->durable);
}

TEST(WriterDefectTest, AFullBatchIsSyncedWithoutWaitingForTheInterval) {
  SimDisk disk;
  WalConfig config;
  config.batch.max_records = 2;
  config.batch.flush_interval_us = WalConfig::kMaxFlushIntervalUs;  // 10 s
  auto w = open_or_die(config, disk);
  auto a = std::async(std::launch::async,
                      [&] { return w->append(Payload::put("a", "1"), kStrict); });
  auto b = std::async(std::launch::async,
                      [&] { return w->append(Payload::put("b", "2"), kStrict); });
  ASSERT_EQ(a.wait_for(std::chrono::seconds(9)), std::future_status::ready);
  ASSERT_EQ(b.wait_for(std::chrono::seconds(9)), std::future_status::ready);
  KAYA_EXPECT_OK(a.get());
  KAYA_EXPECT_OK(b.get());
  EXPECT_EQ(w->stats().fsyncs, 1u);
}

// Defect 3: relaxed records were never synced before rotation, so a crash could leave
// an LSN hole and recovery then threw away later acknowledged strict records.
TEST(WriterDefectTest, ClosingSegmentIsDurableBeforeTheNextOneGetsRecords) {
  SimDisk disk(io::SimDiskOptions{.seed = 7, .tear_on_crash = false});
  WalConfig config;
  config.segment_max_bytes = 200;
  config.max_record_bytes = 200;
  auto w = open_or_die(config, disk);
  for (int i = 0; i < 3; ++i)
    KAYA_ASSERT_OK(w->append(Payload::put("r", "elx"), kRelaxed));
  auto strict = w->append(Payload::put("s", "trc"), kStrict);
  KAYA_ASSERT_OK(strict);
  ASSERT_EQ(strict->segment_id, 2u);
  disk.crash();
  auto log = read_log(disk, config);
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), 4u)
      << "the acknowledged strict record or one before it was lost";
}

// Defect 4: a new segment's directory entry must be durable before a strict ack.
TEST(WriterDefectTest, NewSegmentEntryIsDurableBeforeAStrictAck) {
  SimDisk disk(io::SimDiskOptions{.seed = 3, .tear_on_crash = false});
  WalConfig config;
  config.segment_max_bytes = 99;  // one 50-byte record per segment
  config.max_record_bytes = 99;
  auto w = open_or_die(config, disk);
  KAYA_ASSERT_OK(w->append(Payload::put("a", "1"), kStrict));
  auto r = w->append(Payload::put("b", "2"), kStrict);
  KAYA_ASSERT_OK(r);
  ASSERT_EQ(r->segment_id, 2u);
  disk.crash();
  auto log = read_log(disk, config);
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), 2u);
  EXPECT_EQ(log->report.segment_ids(), (std::vector<uint64_t>{1, 2}));
}

// Defect 5: the lock was held across every fsync, so appends stalled behind it.
TEST(WriterDefectTest, AnFsyncInProgressDoesNotStopOthersFromAppending) {
  SimDisk disk;
  FsyncGate gate(disk);
  auto w = open_or_die({}, disk);
  gate.close();
  auto leader = std::async(std::launch::async,
                           [&] { return w->append(Payload::put("a", "1"), kStrict); });
  gate.wait_for_held();
  // While the fsync is held: a relaxed append completes (it is in the file), and a
  // strict one is encoded and numbered, then waits only for the next sync (whose
  // leader writes it).
  auto relaxed = w->append(Payload::put("b", "2"), kRelaxed);
  KAYA_ASSERT_OK(relaxed);
  EXPECT_EQ(relaxed->lsn, Lsn(2));
  auto seen = read_log(disk);
  KAYA_ASSERT_OK(seen);
  EXPECT_EQ(seen->records.size(), 2u);
  auto follower = std::async(std::launch::async,
                             [&] { return w->append(Payload::put("c", "3"), kStrict); });
  while (w->next_lsn() < Lsn(4)) std::this_thread::yield();
  EXPECT_EQ(follower.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  gate.open();
  KAYA_EXPECT_OK(leader.get());
  auto f = follower.get();
  KAYA_ASSERT_OK(f);
  EXPECT_TRUE(f->durable);
}

// Defect 9: the fsync counter counted durable appends instead of fsyncs.
TEST(WriterDefectTest, FsyncCounterCountsRealFsyncs) {
  SimDisk disk;
  auto w = open_or_die({}, disk);
  const uint64_t before = disk.fsync_file_count();
  for (int i = 0; i < 10; ++i) KAYA_ASSERT_OK(w->append(Payload::noop(), kRelaxed));
  EXPECT_EQ(w->stats().fsyncs, 0u);
  KAYA_ASSERT_OK(w->sync());
  EXPECT_EQ(w->stats().fsyncs, 1u);
  for (int i = 0; i < 3; ++i) KAYA_ASSERT_OK(w->append(Payload::noop(), kStrict));
  WriterStats s = w->stats();
  EXPECT_EQ(s.fsyncs, 4u);
  EXPECT_EQ(s.fsyncs, disk.fsync_file_count() - before);
  EXPECT_EQ(s.fsync_duration_us.count(), 4u);
  EXPECT_EQ(s.records_per_fsync.count(), 4u);
  EXPECT_EQ(s.records_per_fsync.max(), 10u);
  EXPECT_EQ(s.records, 13u);
  EXPECT_EQ(s.strict_records, 3u);
  EXPECT_EQ(s.relaxed_records, 10u);
  EXPECT_EQ(s.bytes, 13u * 40);
}

// What open() found that a dead process left with the OS is durable once open()
// returns, before the new writer acknowledges anything.
TEST(WriterDefectTest, RecordsFoundAtOpenAreDurableWhenOpenReturns) {
  SimDisk disk(io::SimDiskOptions{.seed = 5, .tear_on_crash = false});
  {
    auto w = open_or_die({}, disk);
    for (int i = 0; i < 3; ++i)
      KAYA_ASSERT_OK(w->append(Payload::put("k", "v"), kRelaxed));
    disk.set_fault_probability(FaultKind::kFsyncFailure, 1.0);  // the process dies:
    w.reset();  // its close() syncs nothing
    disk.clear_faults();
  }
  auto w = open_or_die({}, disk);
  EXPECT_EQ(w->next_lsn(), Lsn(4));
  disk.crash();  // power loss before the new writer acknowledged anything
  auto log = read_log(disk);
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), 3u) << "records recovered at open were not made durable";
}

// A segment a dead process created without syncing its directory entry gets
// that entry synced at open, before a strict append into it is acknowledged.
TEST(WriterDefectTest, SegmentFoundAtOpenHasADurableEntry) {
  SimDisk disk(io::SimDiskOptions{.seed = 5, .tear_on_crash = false});
  WalConfig config;
  config.segment_max_bytes = 150;  // a (about 100 bytes) alone, then b and c (50 each)
  config.max_record_bytes = 150;
  {
    auto w = open_or_die(config, disk);
    KAYA_ASSERT_OK(w->append(Payload::put("a", std::string(53, '1')), kStrict));
    // Rotation creates segment 2 and writes b there; segment 1's close then syncs
    // segment 1 and fails at the directory fsync that was to make segment 2's entry
    // durable.
    disk.fail_nth(FaultKind::kFsyncFailure, 2);
    ASSERT_FALSE(w->append(Payload::put("b", "2"), kStrict).ok());
    disk.clear_faults();
  }
  // Recovery keeps b (with the OS, in segment 2, whose entry is still not durable);
  // c follows it there: the reopened writer made the entry durable.
  auto w = open_or_die(config, disk);
  auto c = w->append(Payload::put("c", "3"), kStrict);
  KAYA_ASSERT_OK(c);
  ASSERT_EQ(c->segment_id, 2u);
  disk.crash();
  auto log = read_log(disk, config);
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), 3u) << "an acknowledged strict record was lost";
  EXPECT_EQ(log->report.segment_ids(), (std::vector<uint64_t>{1, 2}));
}

}  // namespace
}  // namespace kaya::wal
