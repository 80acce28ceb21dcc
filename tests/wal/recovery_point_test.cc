// Recovery on both sides of the recovery point, by byte surgery (the same damage
// without a recovery point: recovery_torn_tail_test.cc and recovery_corruption_test.cc).
// A recovery point "behind" the log is made by writing one that names an earlier record,
// as a writer that crashed before its next update leaves it.
#include "kaya/wal/recovery_point.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "kaya/io/fault_disk.h"
#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Bytes = std::vector<uint8_t>;
using io::RelativePath;
using io::SimDisk;

// 95-byte Puts, three per 300-byte segment.
constexpr uint64_t kRecordBytes = 95;

WalConfig small_config() {
  WalConfig c;
  c.segment_max_bytes = 300;
  c.max_record_bytes = 300;
  c.preallocate_bytes = 0;
  return c;
}

RelativePath seg(uint64_t id) {
  return RelativePath::parse(format::segment_path(id)).value();
}

struct Log {
  std::vector<AppendResult> acks;
};

Log write_log(io::Disk& disk, int n) {
  Log log;
  auto w = Writer::open(small_config(), disk);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  for (int i = 0; i < n; ++i) {
    auto r = (*w)->append(
        Payload::put("key-" + std::to_string(100 + i), std::string(40, 'a' + i % 26)),
        DurabilityMode::kStrict);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->encoded_len, kRecordBytes);
    log.acks.push_back(*r);
  }
  EXPECT_TRUE((*w)->close().ok());
  return log;
}

Bytes read_all(io::Disk& disk, const RelativePath& path) {
  Bytes b(disk.file_len(path).value());
  EXPECT_EQ(io::read_full(disk, path, 0, b).value(), b.size());
  return b;
}

uint32_t le32(const Bytes& b, size_t at) {
  return b[at] | b[at + 1] << 8 | b[at + 2] << 16 |
         static_cast<uint32_t>(b[at + 3]) << 24;
}

// Rewrites the recovery point so that it names `ack`'s record: the log is beyond it.
void point_at(io::Disk& disk, const AppendResult& ack) {
  RecoveryPoint rp = read_recovery_point(disk).value().value();
  const Bytes b = read_all(disk, seg(ack.segment_id));
  rp.durable = RecordPosition{ack.lsn,
                              ack.sequence,
                              ack.segment_id,
                              ack.offset,
                              static_cast<uint32_t>(ack.encoded_len),
                              le32(b, ack.offset + format::kHeaderCrcOffset)};
  if (rp.sealed_segment_id >= ack.segment_id) {
    rp.sealed_segment_id = 0;
    rp.sealed_segment_bytes = 0;
    rp.sealed_last_lsn = Lsn(0);
  }
  KAYA_ASSERT_OK(create_recovery_point(disk, rp));
}

void flip(io::Disk& disk, uint64_t id, uint64_t offset) {
  Bytes b = read_all(disk, seg(id));
  b[offset] ^= 0x01;
  KAYA_ASSERT_OK(disk.write_at(seg(id), 0, b));
}

using Snapshot = std::map<std::string, Bytes>;
Snapshot segments(io::Disk& disk) {
  Snapshot s;
  const std::vector<uint64_t> ids = list_segments(disk).value();
  for (uint64_t id : ids) {
    s[format::segment_path(id)] = read_all(disk, seg(id));
  }
  return s;
}

Result<RecoveryReport> recover_default(io::Disk& disk, bool dry_run = false) {
  RecoveryOptions o;
  o.dry_run = dry_run;
  return recover(small_config(), disk, o);
}

TEST(RecoveryPointTest, DamageToTheLastRecordOfAClosedLogIsCorruptionNotATornTail) {
  for (uint64_t at : {uint64_t{60}, kRecordBytes - 1, format::kLsnOffset}) {
    SCOPED_TRACE("byte " + std::to_string(at) + " of the last record flipped");
    SimDisk disk;
    Log log = write_log(disk, 7);  // segments 1, 2 and 3 (one record)
    const AppendResult& last = log.acks.back();
    flip(disk, last.segment_id, last.offset + at);
    const Snapshot before = segments(disk);
    auto r = recover_default(disk);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), ErrorKind::kCorruption);
    EXPECT_THAT(r.error().message(),
                AllOf(HasSubstr("segment 3 ("), HasSubstr("at offset 0 (LSN 7)"),
                      HasSubstr("at or below the recovery point")));
    auto w = Writer::open(small_config(), disk);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().kind(), ErrorKind::kCorruption);
    EXPECT_EQ(segments(disk), before) << "a refused log must not change";
  }
}

TEST(RecoveryPointTest, ACutBelowTheRecoveryPointIsLostWritesNotATornTail) {
  SimDisk disk;
  Log log = write_log(disk, 6);
  // The last record cut at a record boundary: what is left reads cleanly, but the
  // recovery point names a record that is gone.
  KAYA_ASSERT_OK(disk.truncate(seg(2), 2 * kRecordBytes));
  auto r = recover_default(disk, /*dry_run=*/true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorruption);
  EXPECT_THAT(r.error().message(), HasSubstr("log ends before the recovery point"));
  // Zeros where the record was (the length persisted, the data not): the same.
  KAYA_ASSERT_OK(disk.truncate(seg(2), 3 * kRecordBytes));
  r = recover_default(disk, /*dry_run=*/true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorruption);
  (void)log;
}

TEST(RecoveryPointTest, BeyondTheRecoveryPointATornLastRecordIsCut) {
  SimDisk disk;
  Log log = write_log(disk, 6);
  point_at(disk, log.acks[3]);  // LSN 4: records 5 and 6 lie beyond
  const AppendResult& last = log.acks.back();
  KAYA_ASSERT_OK(disk.truncate(seg(last.segment_id), last.offset + 50));
  auto r = recover_default(disk);
  KAYA_ASSERT_OK(r);
  ASSERT_EQ(r->anomalies.size(), 1u);
  EXPECT_EQ(r->anomalies[0].kind, AnomalyKind::kTornTail);
  EXPECT_THAT(r->anomalies[0].reason, HasSubstr("beyond the recovery point"));
  EXPECT_EQ(r->next_lsn, Lsn(6));
  EXPECT_EQ(disk.file_len(seg(last.segment_id)).value(), last.offset);
  EXPECT_FALSE(r->full_scan);
}

TEST(RecoveryPointTest, BeyondTheRecoveryPointRecordsAfterAHoleAreMovedAsideNotDeleted) {
  SimDisk disk;
  Log log = write_log(disk, 6);
  point_at(disk, log.acks[3]);             // LSN 4 at segment 2 offset 0
  const AppendResult& hole = log.acks[4];  // LSN 5: its payload damaged; LSN 6 intact
  flip(disk, hole.segment_id, hole.offset + 60);
  const Bytes whole = read_all(disk, seg(hole.segment_id));
  auto r = recover_default(disk);
  KAYA_ASSERT_OK(r);  // not corruption
  ASSERT_EQ(r->anomalies.size(), 1u);
  EXPECT_EQ(r->anomalies[0].kind, AnomalyKind::kLostAfterHole);
  EXPECT_EQ(r->anomalies[0].offset, hole.offset);
  EXPECT_EQ(r->next_lsn, Lsn(5));
  ASSERT_EQ(r->dropped.size(), 1u);
  const std::string& lost = r->dropped[0].moved_to;
  ASSERT_FALSE(lost.empty()) << "records after a hole must be kept";
  EXPECT_EQ(read_all(disk, RelativePath::parse(lost).value()),
            Bytes(whole.begin() + static_cast<long>(hole.offset), whole.end()));
  EXPECT_EQ(disk.file_len(seg(hole.segment_id)).value(), hole.offset);
}

TEST(RecoveryPointTest, BeyondTheRecoveryPointAnLsnGapIsRecordsAfterAHole) {
  SimDisk disk;
  Log log = write_log(disk, 6);
  point_at(disk, log.acks[3]);
  // Record 6 replaced by a valid record with LSN 9.
  const AppendResult& last = log.acks.back();
  auto rec =
      encode(Payload::put("key-105", std::string(40, 'f')), Lsn(9), SequenceNumber(9));
  KAYA_ASSERT_OK(rec);
  KAYA_ASSERT_OK(disk.write_at(seg(last.segment_id), last.offset, *rec));
  auto r = recover_default(disk);
  KAYA_ASSERT_OK(r);
  ASSERT_EQ(r->anomalies.size(), 1u);
  EXPECT_EQ(r->anomalies[0].kind, AnomalyKind::kLostAfterHole);
  EXPECT_THAT(r->anomalies[0].reason, HasSubstr("LSN gap"));
  EXPECT_EQ(r->next_lsn, Lsn(6));
}

TEST(RecoveryPointTest, ARecoveryPointThatDoesNotMatchTheLogIsRefusedUntilRebuilt) {
  SimDisk disk;
  Log log = write_log(disk, 6);
  // Segments restored from another copy: the record the point names differs.
  RecoveryPoint rp = read_recovery_point(disk).value().value();
  rp.durable.header_crc ^= 1;
  KAYA_ASSERT_OK(create_recovery_point(disk, rp));
  auto r = recover_default(disk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorruption);
  EXPECT_THAT(r.error().message(), HasSubstr("--rebuild-recovery-point"));
  RecoveryOptions rebuild;
  rebuild.rebuild_recovery_point = true;
  auto rebuilt = recover(small_config(), disk, rebuild);
  KAYA_ASSERT_OK(rebuilt);
  EXPECT_TRUE(rebuilt->recovery_point_written);
  EXPECT_TRUE(rebuilt->full_scan);
  auto w = Writer::open(small_config(), disk);
  KAYA_ASSERT_OK(w);
  EXPECT_EQ((*w)->next_lsn(), Lsn(7));
  (void)log;
}

TEST(RecoveryPointTest, AnUnreadableRecoveryPointIsCorruptionNamingTheFile) {
  SimDisk disk;
  write_log(disk, 4);
  const RelativePath file = RelativePath::parse(rp_format::kFile).value();
  KAYA_ASSERT_OK(disk.write_at(file, 0, Bytes(rp_format::kFileBytes, 0x5A)));
  auto w = Writer::open(small_config(), disk);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind(), ErrorKind::kCorruption);
  EXPECT_THAT(w.error().message(),
              AllOf(HasSubstr("RECOVERY_POINT"), HasSubstr("--rebuild-recovery-point")));
  // Readers and inspection refuse it alike.
  EXPECT_FALSE(LogReader::open(small_config(), disk, Lsn(1)).ok());
}

TEST(RecoveryPointTest, ALogWithoutOneGetsOneFromOpenAndRecoverButNotFromADryRun) {
  SimDisk disk;
  write_log(disk, 4);
  const RelativePath file = RelativePath::parse(rp_format::kFile).value();
  KAYA_ASSERT_OK(disk.remove_file(file));
  auto dry = recover_default(disk, /*dry_run=*/true);
  KAYA_ASSERT_OK(dry);
  EXPECT_FALSE(dry->had_recovery_point);
  EXPECT_FALSE(dry->recovery_point_written);
  EXPECT_FALSE(disk.file_len(file).ok());
  auto real = recover_default(disk);
  KAYA_ASSERT_OK(real);
  EXPECT_TRUE(real->recovery_point_written);
  auto rp = read_recovery_point(disk);
  KAYA_ASSERT_OK(rp);
  ASSERT_TRUE(rp->has_value());
  EXPECT_EQ((*rp)->durable.lsn, Lsn(4));
}

// A record larger than the reader's configured limit but within the writer's recorded
// one is read; without the recorded limit it is refused naming the limit to raise, and
// nothing changes.
TEST(RecoveryPointTest, TheRecordedRecordLimitLetsReadersReadLargerRecords) {
  SimDisk disk;
  WalConfig big = small_config();
  big.segment_max_bytes = 4096;
  big.max_record_bytes = 4096;
  {
    auto w = Writer::open(big, disk);
    KAYA_ASSERT_OK(w);
    KAYA_ASSERT_OK(
        (*w)->append(Payload::put("k", std::string(2000, 'x')), DurabilityMode::kStrict));
    KAYA_ASSERT_OK((*w)->close());
  }
  auto read = testing::read_log(disk, small_config());  // limit 300
  KAYA_ASSERT_OK(read);
  EXPECT_EQ(read->records.size(), 1u);
  KAYA_ASSERT_OK(disk.remove_file(RelativePath::parse(rp_format::kFile).value()));
  const Snapshot before = segments(disk);
  auto refused = Writer::open(small_config(), disk);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_THAT(refused.error().message(), HasSubstr("max-record-bytes"));
  EXPECT_EQ(segments(disk), before);
}

// Writer::open reads the tail, not the log: on a log of many segments it reads about
// one segment's worth, where a full scan reads them all.
TEST(RecoveryPointTest, OpenReadsOnlyWhatLiesBeyondTheRecoveryPoint) {
  kaya::testing::TempDir dir;
  auto file = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(file);
  Log log = write_log(**file, 60);  // 20 segments
  io::FaultDisk counting(**file);
  uint64_t tail_read = 0;
  {
    auto w = Writer::open(small_config(), counting);
    KAYA_ASSERT_OK(w);
    EXPECT_EQ((*w)->next_lsn(), Lsn(61));
    EXPECT_FALSE((*w)->recovery_report().full_scan);
    EXPECT_EQ((*w)->recovery_report().records, 60u);
    EXPECT_EQ((*w)->recovery_report().first_lsn, Lsn(1));
    tail_read = counting.bytes_read();
  }
  const uint64_t before_full = counting.bytes_read();
  OpenOptions full;
  full.recovery.full_scan = true;
  auto w = Writer::open(small_config(), counting, full);
  KAYA_ASSERT_OK(w);
  const uint64_t full_read = counting.bytes_read() - before_full;
  EXPECT_GE(full_read, 60 * kRecordBytes);
  EXPECT_LE(tail_read, 3 * 300 + rp_format::kFileBytes)
      << "an open read " << tail_read << " bytes of a " << full_read << "-byte log";
  (void)log;
}

TEST(RecoveryPointTest, ReplayFromAnLsnStartsAtItsSegment) {
  SimDisk disk;
  write_log(disk, 30);  // 10 segments
  OpenOptions o;
  o.replay_from = Lsn(25);
  std::vector<uint64_t> seen;
  o.replay = [&](uint64_t, uint64_t, const RecordView& r) {
    seen.push_back(r.lsn.value());
    return ok_status();
  };
  auto w = Writer::open(small_config(), disk, o);
  KAYA_ASSERT_OK(w);
  EXPECT_EQ(seen, (std::vector<uint64_t>{25, 26, 27, 28, 29, 30}));
  const RecoveryReport& r = (*w)->recovery_report();
  EXPECT_FALSE(r.full_scan);
  ASSERT_EQ(r.segments.size(), 10u);
  EXPECT_FALSE(r.segments[0].scanned);
  EXPECT_TRUE(r.segments[8].scanned);  // LSN 25..27
}

TEST(RecoveryPointTest, AnEmptyOrZeroedSegmentBelowItIsCorruption) {
  for (bool zeros : {false, true}) {
    SCOPED_TRACE(zeros ? "zeroed" : "emptied");
    SimDisk disk;
    write_log(disk, 9);
    if (zeros) {
      KAYA_ASSERT_OK(disk.write_at(seg(2), 0, Bytes(3 * kRecordBytes, 0)));
    } else {
      KAYA_ASSERT_OK(disk.truncate(seg(2), 0));
    }
    RecoveryOptions full;
    full.full_scan = true;
    full.dry_run = true;
    auto r = recover(small_config(), disk, full);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), ErrorKind::kCorruption);
    // The open that reads only the tail sees an empty segment by its length; zeros
    // only a full check finds.
    auto w = Writer::open(small_config(), disk);
    EXPECT_EQ(w.ok(), zeros) << (w.ok() ? "" : w.error().to_string());
  }
}

// LSN 0 and the last LSN, sequence number and segment id are never wrapped: the writer
// refuses to hand them out, and a record carrying them is reported.
TEST(LsnSpaceTest, TheLastLsnAndSequenceAreNeverHandedOut) {
  SimDisk disk;
  auto at_max = Writer::open_at(small_config(), disk, Lsn(UINT64_MAX), SequenceNumber(1));
  ASSERT_FALSE(at_max.ok());
  EXPECT_EQ(at_max.error().kind(), ErrorKind::kInvalidArgument);
  auto w = Writer::open_at(small_config(), disk, Lsn(UINT64_MAX - 1), SequenceNumber(7));
  KAYA_ASSERT_OK(w);
  auto ok = (*w)->append(Payload::noop(), DurabilityMode::kStrict);
  KAYA_ASSERT_OK(ok);
  EXPECT_EQ(ok->lsn, Lsn(UINT64_MAX - 1));
  auto refused = (*w)->append(Payload::noop(), DurabilityMode::kStrict);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_THAT(refused.error().message(), HasSubstr("exhausted"));
  EXPECT_EQ((*w)->next_lsn(), Lsn(UINT64_MAX));
  KAYA_ASSERT_OK((*w)->close());

  SimDisk seq_disk;
  auto s = Writer::open_at(small_config(), seq_disk, Lsn(1), SequenceNumber(UINT64_MAX));
  KAYA_ASSERT_OK(s);
  auto no_seq = (*s)->append(Payload::noop(), DurabilityMode::kRelaxed);
  ASSERT_FALSE(no_seq.ok());
  EXPECT_EQ((*s)->next_lsn(), Lsn(1)) << "a refused append takes no LSN";
}

TEST(LsnSpaceTest, RecordsWithLsnZeroOrTheLastLsnAreReported) {
  for (uint64_t lsn : {uint64_t{0}, UINT64_MAX}) {
    SCOPED_TRACE("LSN " + std::to_string(lsn));
    SimDisk disk;
    Log log = write_log(disk, 3);
    const AppendResult& last = log.acks.back();
    point_at(disk, log.acks[1]);  // the damage lies beyond the recovery point
    auto rec = encode(Payload::put("key-102", std::string(40, 'c')), Lsn(lsn),
                      SequenceNumber(3));
    KAYA_ASSERT_OK(rec);
    KAYA_ASSERT_OK(disk.write_at(seg(last.segment_id), last.offset, *rec));
    auto r = recover_default(disk, /*dry_run=*/true);
    KAYA_ASSERT_OK(r);
    ASSERT_EQ(r->anomalies.size(), 1u);
    EXPECT_EQ(r->anomalies[0].kind, AnomalyKind::kLostAfterHole);
    EXPECT_THAT(r->anomalies[0].reason,
                HasSubstr(lsn == 0 ? "LSN 0" : "LSN space exhausted"));
    EXPECT_EQ(r->next_lsn, Lsn(3));
    // Without the recovery point: corruption.
    KAYA_ASSERT_OK(disk.remove_file(RelativePath::parse(rp_format::kFile).value()));
    auto legacy = recover_default(disk, /*dry_run=*/true);
    ASSERT_FALSE(legacy.ok());
    EXPECT_EQ(legacy.error().kind(), ErrorKind::kCorruption);
  }
}

}  // namespace
}  // namespace kaya::wal
