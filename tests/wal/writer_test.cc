#include "kaya/wal/writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using io::FaultKind;
using io::SimDisk;
using testing::FsyncGate;
using testing::read_log;
using testing::segment;

constexpr auto kStrict = DurabilityMode::kStrict;
constexpr auto kRelaxed = DurabilityMode::kRelaxed;

std::unique_ptr<Writer> open_or_die(const WalConfig& config, io::Disk& disk) {
  auto w = Writer::open(config, disk);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return w.ok() ? std::move(w).value() : nullptr;
}

TEST(WriterTest, AppendsReturnNumbersAndPositions) {
  SimDisk disk;
  WalConfig config;
  config.extensions = kExtensionBytes;  // for the Bytes record
  auto w = open_or_die(config, disk);
  auto a = w->append(Payload::put("user:1", "Ada"), kStrict);
  KAYA_ASSERT_OK(a);
  EXPECT_EQ(a->lsn, Lsn(1));
  EXPECT_EQ(a->sequence, SequenceNumber(1));
  EXPECT_EQ(a->segment_id, 1u);
  EXPECT_EQ(a->offset, 0u);
  EXPECT_EQ(a->encoded_len, 57u);
  EXPECT_TRUE(a->durable);
  auto b = w->append(Payload::del("user:2"), kRelaxed);
  KAYA_ASSERT_OK(b);
  EXPECT_EQ(b->lsn, Lsn(2));
  EXPECT_EQ(b->offset, 57u);
  EXPECT_FALSE(b->durable);
  EXPECT_EQ(b->fsync_duration_us, 0u);
  auto c = w->append(Payload::noop(), kStrict);
  KAYA_ASSERT_OK(c);
  auto d = w->append(Payload::bytes(std::string("\0\1\xff", 3)), kStrict);
  KAYA_ASSERT_OK(d);
  EXPECT_EQ(d->lsn, Lsn(4));
  KAYA_ASSERT_OK(w->close());

  auto log = read_log(disk);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->records.size(), 4u);
  EXPECT_EQ(log->records[0],
            (Record{Lsn(1), SequenceNumber(1), RecordType::kPut, "user:1", "Ada"}));
  EXPECT_EQ(log->records[1],
            (Record{Lsn(2), SequenceNumber(2), RecordType::kDelete, "user:2", ""}));
  EXPECT_EQ(log->records[2].type, RecordType::kNoop);
  EXPECT_EQ(log->records[3].value, std::string("\0\1\xff", 3));
}

TEST(WriterTest, ReopenContinuesAfterTheLastRecord) {
  SimDisk disk;
  {
    auto w = open_or_die({}, disk);
    for (int i = 0; i < 5; ++i) KAYA_ASSERT_OK(w->append(Payload::noop(), kRelaxed));
  }
  auto w = open_or_die({}, disk);
  EXPECT_EQ(w->next_lsn(), Lsn(6));
  auto r = w->append(Payload::put("k", "v"), kStrict);
  KAYA_ASSERT_OK(r);
  EXPECT_EQ(r->lsn, Lsn(6));
  EXPECT_EQ(r->sequence, SequenceNumber(6));
}

TEST(WriterTest, OpenAtStartsWhereTheEngineSays) {
  SimDisk disk;
  {
    auto w = Writer::open_at({}, disk, Lsn(100), SequenceNumber(500));
    KAYA_ASSERT_OK(w);
    auto r = (*w)->append(Payload::noop(), kStrict);
    KAYA_ASSERT_OK(r);
    EXPECT_EQ(r->lsn, Lsn(100));
    EXPECT_EQ(r->sequence, SequenceNumber(500));
  }
  {
    auto w = open_or_die({}, disk);
    auto r = w->append(Payload::noop(), kStrict);
    KAYA_ASSERT_OK(r);
    EXPECT_EQ(r->lsn, Lsn(101));
    EXPECT_EQ(r->sequence, SequenceNumber(501));
  }
  // Continuing a non-empty log anywhere but its end would leave a hole or reuse LSNs.
  auto bad = Writer::open_at({}, disk, Lsn(50), SequenceNumber(1));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("LSN 102"), std::string::npos)
      << bad.error().message();
  // The engine may restart its sequence numbering at the right LSN.
  auto good = Writer::open_at({}, disk, Lsn(102), SequenceNumber(9000));
  KAYA_ASSERT_OK(good);
}

TEST(WriterTest, RotatesWhenARecordWouldPassTheSegmentSize) {
  SimDisk disk;
  WalConfig config;
  config.segment_max_bytes = 200;  // three 57-byte records fit, a fourth does not
  config.max_record_bytes = 200;
  auto w = open_or_die(config, disk);
  std::vector<AppendResult> results;
  for (int i = 0; i < 7; ++i) {
    auto r = w->append(Payload::put("user:" + std::to_string(i), "Ada"), kRelaxed);
    KAYA_ASSERT_OK(r);
    results.push_back(*r);
  }
  EXPECT_EQ(results[2].segment_id, 1u);
  EXPECT_EQ(results[2].offset, 114u);
  EXPECT_EQ(results[3].segment_id, 2u);
  EXPECT_EQ(results[3].offset, 0u);
  EXPECT_EQ(results[6].segment_id, 3u);
  EXPECT_EQ(w->stats().rotations, 2u);
  EXPECT_EQ(*disk.file_len(segment(1)), 171u);
  KAYA_ASSERT_OK(w->close());
  auto log = read_log(disk, config);
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), 7u);
  EXPECT_EQ(log->report.segment_ids(), (std::vector<uint64_t>{1, 2, 3}));
}

TEST(WriterTest, OversizedRecordIsRefusedWithoutTakingAnLsn) {
  SimDisk disk;
  WalConfig config;
  config.max_record_bytes = 100;
  auto w = open_or_die(config, disk);
  auto big = w->append(Payload::put("k", std::string(100, 'x')), kStrict);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(big.error().message().find("max_record_bytes"), std::string::npos);
  auto ok = w->append(Payload::put("k", "v"), kStrict);
  KAYA_ASSERT_OK(ok);
  EXPECT_EQ(ok->lsn, Lsn(1));
}

TEST(WriterTest, InvalidConfigIsRefusedAtOpen) {
  SimDisk disk;
  WalConfig config;
  config.segment_max_bytes = 0;
  auto w = Writer::open(config, disk);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(w.error().message().find("segment_max_bytes"), std::string::npos);
}

TEST(WriterTest, SecondWriterGetsLockConflictUntilTheFirstCloses) {
  kaya::testing::TempDir dir;
  auto disk1 = io::FileDisk::open(dir.path());
  auto disk2 = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk1);
  KAYA_ASSERT_OK(disk2);
  auto first = open_or_die({}, **disk1);
  auto second = Writer::open({}, **disk2);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind(), ErrorKind::kLockConflict);
  EXPECT_NE(second.error().message().find("LOCK"), std::string::npos)
      << second.error().message();
  // The disk says which lock is held; the log layer says what that means.
  EXPECT_EQ(second.error().message().rfind("another writer holds the log", 0), 0u)
      << second.error().message();
  KAYA_ASSERT_OK(first->close());
  auto third = Writer::open({}, **disk2);
  KAYA_EXPECT_OK(third);
}

TEST(WriterTest, AppendAfterCloseFails) {
  SimDisk disk;
  auto w = open_or_die({}, disk);
  KAYA_ASSERT_OK(w->close());
  auto r = w->append(Payload::noop(), kRelaxed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(WriterTest, SyncMakesRelaxedRecordsDurable) {
  SimDisk disk;
  auto w = open_or_die({}, disk);
  for (int i = 0; i < 10; ++i)
    KAYA_ASSERT_OK(w->append(Payload::put("k", "v"), kRelaxed));
  KAYA_ASSERT_OK(w->sync());
  EXPECT_EQ(w->stats().durable_lsn_end, Lsn(11));
  disk.crash();
  auto log = read_log(disk);
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), 10u);
}

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

// Rotation happens only when a record would take the segment *past* its size.
TEST(WriterTest, ARecordThatExactlyFillsTheSegmentStaysInIt) {
  SimDisk disk;
  WalConfig config;
  config.segment_max_bytes = 100;  // exactly two 50-byte records
  config.max_record_bytes = 100;
  auto w = open_or_die(config, disk);
  auto a = w->append(Payload::put("a", "1"), kRelaxed);
  auto b = w->append(Payload::put("b", "2"), kRelaxed);
  auto c = w->append(Payload::put("c", "3"), kRelaxed);
  KAYA_ASSERT_OK(a);
  KAYA_ASSERT_OK(b);
  KAYA_ASSERT_OK(c);
  EXPECT_EQ(b->segment_id, 1u);
  EXPECT_EQ(b->offset, 50u);
  EXPECT_EQ(c->segment_id, 2u);
  EXPECT_EQ(w->stats().rotations, 1u);
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

// close() admits no new append and releases the lock only after every admitted
// append's I/O is done: no byte may reach the log once another process can own it.
TEST(WriterTest, CloseWaitsForAppendsInFlightBeforeReleasingTheLock) {
  SimDisk disk;
  FsyncGate gate(disk);
  auto w = open_or_die({}, disk);
  gate.close();
  auto strict = std::async(std::launch::async,
                           [&] { return w->append(Payload::put("a", "1"), kStrict); });
  gate.wait_for_held();  // the append is inside its fsync
  auto closing = std::async(std::launch::async, [&] { return w->close(); });
  // close() has marked the writer closed once a new append is refused.
  for (;;) {
    auto refused = w->append(Payload::noop(), kRelaxed);
    if (!refused.ok()) {
      EXPECT_EQ(refused.error().kind(), ErrorKind::kInvalidArgument);
      break;
    }
    std::this_thread::yield();
  }
  auto lock = disk.lock_file(io::RelativePath::parse(format::kLockFile).value());
  ASSERT_FALSE(lock.ok()) << "the lock was released while an fsync was in flight";
  EXPECT_EQ(lock.error().kind(), ErrorKind::kLockConflict);
  gate.open();
  KAYA_EXPECT_OK(strict.get());
  KAYA_EXPECT_OK(closing.get());
  KAYA_EXPECT_OK(disk.lock_file(io::RelativePath::parse(format::kLockFile).value()));
}

// Releasing every segment before the relaxed (not yet durable) records would let a
// power loss leave no record at all, and the next writer would reuse LSNs from 1.
TEST(WriterTest, ReleaseKeepsASegmentUntilADurableRecordFollowsIt) {
  SimDisk disk(io::SimDiskOptions{.seed = 9, .tear_on_crash = false});
  WalConfig config;
  config.segment_max_bytes = 99;  // one 50-byte record per segment
  config.max_record_bytes = 99;
  auto w = open_or_die(config, disk);
  KAYA_ASSERT_OK(w->append(Payload::put("a", "1"), kStrict));   // segment 1
  KAYA_ASSERT_OK(w->append(Payload::put("b", "2"), kStrict));   // segment 2
  KAYA_ASSERT_OK(w->append(Payload::put("c", "3"), kRelaxed));  // segment 3, not durable
  auto released = w->release_before(Lsn(100));
  KAYA_ASSERT_OK(released);
  EXPECT_EQ(released->segments_removed, 1u);
  // Segment 2 stays: no durable record follows it, or its close (which the rotation
  // to segment 3 started off the append path) is still pending.
  EXPECT_TRUE(released->stopped_because.find("not durable") != std::string::npos ||
              released->stopped_because.find("still closing") != std::string::npos)
      << released->stopped_because;
  testing::crash_with_writer(disk, w);
  auto reopened = open_or_die(config, disk);
  EXPECT_EQ(reopened->next_lsn(), Lsn(3)) << "LSNs would be handed out again";
}

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
