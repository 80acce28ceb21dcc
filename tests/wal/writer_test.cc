// The Writer's contract: LSNs, sequence numbers and positions of appends, reopening and
// opening at an LSN, rotation, refused records and configurations, the lock, close and
// sync, and release.
#include "kaya/wal/writer.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"
#include "wal/writer_test_util.h"

namespace kaya::wal {
namespace {

using io::SimDisk;
using testing::FsyncGate;
using testing::kRelaxed;
using testing::kStrict;
using testing::open_or_die;
using testing::read_log;
using testing::segment;

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

}  // namespace
}  // namespace kaya::wal
