// LogReader::open's search for the segment `from` lies in meets a segment that is not
// the last and holds no valid record at offset 0: the one damage judgement says what
// it means. At or below the recovery point the log is refused with the judgement's
// words; beyond it, the segments from that one on are records after a hole (recovery
// moves them to wal/lost/), so the log ends before them, as it does at a missing
// segment beyond the recovery point.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/recovery_scenario.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using recovery_testing::kRecordBytes;

// The recovery point moved back to name the record `ack` wrote (the log beyond it is
// what a crash may leave).
void move_recovery_point_to(io::Disk& disk, const AppendResult& ack) {
  RecoveryPoint rp = read_recovery_point(disk).value().value();
  const recovery_testing::Bytes b =
      recovery_testing::read_file(disk, testing::segment(ack.segment_id));
  rp.durable = RecordPosition{ack.lsn,
                              ack.sequence,
                              ack.segment_id,
                              ack.offset,
                              static_cast<uint32_t>(ack.encoded_len),
                              static_cast<uint32_t>(kaya::testing::get_le(
                                  b, ack.offset + format::kHeaderCrcOffset, 4))};
  if (rp.sealed_segment_id >= ack.segment_id) {
    rp.sealed_segment_id = 0;
    rp.sealed_segment_bytes = 0;
    rp.sealed_last_lsn = Lsn(0);
  }
  KAYA_ASSERT_OK(create_recovery_point(disk, rp));
}

// Twelve records, three per segment (segments 1-4), written and closed by a Writer,
// which leaves the recovery point naming the last one (LSN 12); then segment 3's first
// record (LSN 7) zeroed.
recovery_testing::Log write_log_without_segment_3s_first_record(io::Disk& disk) {
  recovery_testing::Log log;
  auto w = Writer::open(recovery_testing::small_config(), disk);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  if (!w.ok()) return log;
  for (int i = 0; i < 12; ++i) {
    const std::string key = recovery_testing::key_of(i);
    const std::string value = recovery_testing::value_of(i);
    auto r = (*w)->append(Payload::put(key, value), DurabilityMode::kRelaxed);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    if (!r.ok()) return log;
    log.appends.push_back(*r);
    log.records.push_back(Record{r->lsn, r->sequence, RecordType::kPut, key, value});
  }
  KAYA_EXPECT_OK((*w)->close());
  EXPECT_EQ(log.appends.back().segment_id, 4u);
  EXPECT_EQ(read_recovery_point(disk).value().value().durable.lsn, Lsn(12));
  recovery_testing::write_segment_at(disk, 3, 0,
                                     recovery_testing::Bytes(kRecordBytes, 0));
  return log;
}

// At or below the recovery point: Corruption in the judgement's words, the same a
// recovery that reads the whole log reports for that spot.
TEST(ReaderLocateTest, NoValidFirstRecordAtOrBelowTheRecoveryPointIsTheJudgementsError) {
  io::SimDisk disk;
  write_log_without_segment_3s_first_record(disk);
  const WalConfig config = recovery_testing::small_config();

  RecoveryOptions full;
  full.full_scan = true;
  full.dry_run = true;
  auto recovered = recover(config, disk, full);
  ASSERT_FALSE(recovered.ok());
  ASSERT_EQ(recovered.error().kind(), ErrorKind::kCorruption);

  for (uint64_t from : {1, 8, 11}) {
    SCOPED_TRACE("from LSN " + std::to_string(from));
    auto reader = LogReader::open(config, disk, Lsn(from));
    ASSERT_FALSE(reader.ok());
    const Error& e = reader.error();
    EXPECT_EQ(e.kind(), ErrorKind::kCorruption) << e.to_string();
    const std::string& m = e.message();
    EXPECT_EQ(m.find("run recovery for details"), std::string::npos) << m;
    EXPECT_NE(m.find("segment 3 "), std::string::npos) << m;
    EXPECT_NE(m.find(" at offset 0"), std::string::npos) << m;
    EXPECT_NE(m.find(": corruption: "), std::string::npos) << m;
    EXPECT_NE(m.find("at or below the recovery point"), std::string::npos) << m;
    // The judgement's words are recovery's words for that spot.
    EXPECT_EQ(recovered.error().message().rfind(m, 0), 0u)
        << "recovery: " << recovered.error().message() << "\nreader: " << m;
  }
}

// Beyond the recovery point: the log ends with segment 2 (recovery moves segments 3
// and 4 to wal/lost/); an LSN in segment 4 lies after a hole.
TEST(ReaderLocateTest, NoValidFirstRecordBeyondTheRecoveryPointEndsTheLogBeforeIt) {
  io::SimDisk disk;
  const recovery_testing::Log log = write_log_without_segment_3s_first_record(disk);
  move_recovery_point_to(disk, log.appends[3]);  // LSN 4, segment 2 offset 0
  const WalConfig config = recovery_testing::small_config();

  for (uint64_t from : {1, 5}) {
    SCOPED_TRACE("from LSN " + std::to_string(from));
    auto reader = LogReader::open(config, disk, Lsn(from));
    KAYA_ASSERT_OK(reader);
    const testing::ReadUntilEnd read = testing::read_until_end(**reader);
    EXPECT_FALSE(read.error.has_value()) << read.error->to_string();
    EXPECT_EQ(read.records,
              std::vector<Record>(log.records.begin() + static_cast<ptrdiff_t>(from - 1),
                                  log.records.begin() + 6));
  }
  for (uint64_t from : {10, 11, 12}) {
    SCOPED_TRACE("from LSN " + std::to_string(from));
    auto reader = LogReader::open(config, disk, Lsn(from));
    ASSERT_FALSE(reader.ok());
    EXPECT_EQ(reader.error().kind(), ErrorKind::kNotFound) << reader.error().to_string();
    const std::string& m = reader.error().message();
    EXPECT_NE(m.find("lies after a hole"), std::string::npos) << m;
    EXPECT_NE(m.find("beyond the recovery point"), std::string::npos) << m;
  }

  // What recovery makes of it: the same end of the log.
  RecoveryOptions dry;
  dry.dry_run = true;
  dry.full_scan = true;
  auto recovered = recover(config, disk, dry);
  KAYA_ASSERT_OK(recovered);
  ASSERT_EQ(recovered->anomalies.size(), 1u);
  EXPECT_EQ(recovered->anomalies[0].kind, AnomalyKind::kLostAfterHole);
  EXPECT_EQ(recovered->anomalies[0].segment_id, 3u);
  EXPECT_EQ(recovered->next_lsn, Lsn(7));
}

}  // namespace
}  // namespace kaya::wal
