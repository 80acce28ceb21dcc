// Recovery from the writer's side: Writer::open recovers, replays and continues after
// what it kept.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/recovery_scenario.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using io::RelativePath;
using io::SimDisk;
using ::testing::HasSubstr;
using testing::read_log;
using namespace recovery_testing;  // NOLINT(google-build-using-namespace)

TEST(RecoveryWriterTest, OpenAfterATornTailContinuesAtTheTornRecord) {
  SimDisk disk;
  Log log = write_log(disk);
  truncate_segment(disk, 3, 250);
  auto w = Writer::open(small_config(), disk);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  const RecoveryReport& report = (*w)->recovery_report();
  EXPECT_EQ(report.records, 8u);
  ASSERT_EQ(report.anomalies.size(), 1u);
  EXPECT_EQ(report.anomalies[0].kind, AnomalyKind::kTornTail);
  EXPECT_EQ(report.anomalies[0].segment_id, 3u);
  EXPECT_EQ(report.anomalies[0].offset, 190u);
  ASSERT_EQ(report.dropped.size(), 1u);
  EXPECT_EQ(describe(report.dropped[0]), "segment 3 offset 190 bytes 60 -> ''");
  EXPECT_TRUE(report.applied);
  EXPECT_EQ((*w)->next_lsn(), Lsn(9));

  auto a = (*w)->append(Payload::put("new", "record"), DurabilityMode::kStrict);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_EQ(a->lsn, Lsn(9));
  EXPECT_EQ(a->sequence, SequenceNumber(9));
  EXPECT_EQ(a->segment_id, 3u);
  EXPECT_EQ(a->offset, 190u);
  KAYA_ASSERT_OK((*w)->close());

  auto back = read_log(disk, small_config());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(back->report.anomalies.empty());
  ASSERT_EQ(back->records.size(), 9u);
  EXPECT_EQ(back->records[7], log.records[7]);
  EXPECT_EQ(back->records[8],
            (Record{Lsn(9), SequenceNumber(9), RecordType::kPut, "new", "record"}));
}

TEST(RecoveryWriterTest, PointInTimeOpenContinuesAfterTheKeptPrefix) {
  SimDisk disk;
  Log log = write_log(disk);
  flip_byte(disk, 2, kRecordBytes + 60);
  const Snapshot before = snapshot(disk);

  auto refused = Writer::open(small_config(), disk);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kCorruption);
  EXPECT_THAT(refused.error().message(), HasSubstr("segment 2 ("));
  EXPECT_THAT(refused.error().message(), HasSubstr("at offset 95"));
  EXPECT_EQ(snapshot(disk), before);

  OpenOptions options;
  options.recovery.mode = RecoveryMode::kPointInTime;
  std::vector<Record> replayed;
  options.replay = [&](uint64_t, uint64_t, const RecordView& r) {
    replayed.push_back(r.to_record());
    return ok_status();
  };
  auto w = Writer::open(small_config(), disk, options);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  EXPECT_EQ(replayed, std::vector<Record>(log.records.begin(), log.records.begin() + 4));
  const RecoveryReport& report = (*w)->recovery_report();
  EXPECT_EQ(report.mode, RecoveryMode::kPointInTime);
  EXPECT_EQ(report.records, 4u);
  EXPECT_EQ(report.next_lsn, Lsn(5));
  ASSERT_EQ(report.anomalies.size(), 1u);
  EXPECT_EQ(report.anomalies[0].kind, AnomalyKind::kCorruption);
  ASSERT_EQ(report.dropped.size(), 2u);
  EXPECT_EQ(describe(report.dropped[0]),
            "segment 2 offset 95 bytes 190 -> '" + lost_path(2, 95) + "'");
  EXPECT_EQ(describe(report.dropped[1]),
            "segment 3 offset 0 bytes 285 -> '" + lost_path(3, 0) + "'");
  EXPECT_EQ((*w)->next_lsn(), Lsn(5));

  // LSNs 5 and 6 fill segment 2; LSN 7 opens a new segment 3.
  std::vector<AppendResult> appended;
  const std::string keys[] = {key_of(100), key_of(101), key_of(102)};
  const std::string value = value_of(100);
  for (const std::string& key : keys) {
    auto a = (*w)->append(Payload::put(key, value), DurabilityMode::kStrict);
    ASSERT_TRUE(a.ok()) << a.error().to_string();
    appended.push_back(*a);
  }
  EXPECT_EQ(appended[0].lsn, Lsn(5));
  EXPECT_EQ(appended[0].segment_id, 2u);
  EXPECT_EQ(appended[0].offset, kRecordBytes);
  EXPECT_EQ(appended[2].lsn, Lsn(7));
  EXPECT_EQ(appended[2].segment_id, 3u);
  EXPECT_EQ(appended[2].offset, 0u);
  KAYA_ASSERT_OK((*w)->close());

  auto back = read_log(disk, small_config());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(back->report.anomalies.empty());
  ASSERT_EQ(back->records.size(), 7u);
  for (size_t i = 0; i < back->records.size(); ++i) {
    EXPECT_EQ(back->records[i].lsn, Lsn(i + 1));
  }
  EXPECT_EQ(read_file(disk, RelativePath::parse(lost_path(3, 0)).value()),
            before.at(format::segment_path(3)));
}

TEST(RecoveryWriterTest, OpenRefusesADryRun) {
  SimDisk disk;
  write_log(disk);
  truncate_segment(disk, 3, 250);
  const Snapshot before = snapshot(disk);
  for (RecoveryMode mode : kModes) {
    OpenOptions options;
    options.recovery.mode = mode;
    options.recovery.dry_run = true;
    auto w = Writer::open(small_config(), disk, options);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_THAT(w.error().message(), HasSubstr("dry-run"));
  }
  EXPECT_EQ(snapshot(disk), before);
}

TEST(RecoveryWriterTest, ReplaySeesEveryRecordInOrderAndTheReportMatches) {
  SimDisk disk;
  Log log = write_log(disk);
  Recovered dry = run(disk, RecoveryMode::kDefault, /*dry_run=*/true);
  ASSERT_TRUE(dry.report.ok()) << dry.report.error().to_string();

  OpenOptions options;
  std::vector<Record> replayed;
  std::vector<std::pair<uint64_t, uint64_t>> positions;
  options.replay = [&](uint64_t segment_id, uint64_t offset, const RecordView& r) {
    replayed.push_back(r.to_record());
    positions.emplace_back(segment_id, offset);
    return ok_status();
  };
  auto w = Writer::open(small_config(), disk, options);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  EXPECT_EQ(replayed, log.records);
  EXPECT_EQ(positions, dry.positions);
  const RecoveryReport& report = (*w)->recovery_report();
  EXPECT_FALSE(report.dry_run);
  EXPECT_EQ(report.records, dry.report->records);
  EXPECT_EQ(report.next_lsn, dry.report->next_lsn);
  EXPECT_EQ(report.next_sequence, dry.report->next_sequence);
  EXPECT_EQ(report.valid_bytes, dry.report->valid_bytes);
  EXPECT_EQ(report.segment_ids(), dry.report->segment_ids());
  EXPECT_TRUE(report.anomalies.empty());
}

TEST(RecoveryWriterTest, ReplayErrorFailsTheOpen) {
  SimDisk disk;
  write_log(disk);
  OpenOptions options;
  options.replay = [](uint64_t, uint64_t, const RecordView& r) {
    return r.lsn == Lsn(5) ? Status(Error(ErrorKind::kInternal, "cannot apply"))
                           : Status();
  };
  auto w = Writer::open(small_config(), disk, options);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind(), ErrorKind::kInternal);
  // The failed open released the lock.
  auto again = Writer::open(small_config(), disk);
  KAYA_EXPECT_OK(again);
}

}  // namespace
}  // namespace kaya::wal
