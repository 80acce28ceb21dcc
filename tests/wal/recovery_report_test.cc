// Recovery of logs without damage: repeated recoveries, dry runs, the visitor, the
// report's text, and empty logs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/recovery.h"
#include "testing/test_util.h"
#include "wal/recovery_scenario.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using io::RelativePath;
using io::SimDisk;
using ::testing::HasSubstr;
using testing::segment;
using namespace recovery_testing;  // NOLINT(google-build-using-namespace)

TEST(RecoveryTest, CleanLogTwiceInARowGivesTheSameReport) {
  SimDisk disk;
  Log log = write_log(disk);
  for (RecoveryMode mode : kModes) {
    SCOPED_TRACE(to_string(mode));
    Recovered first = run(disk, mode);
    Recovered second = run(disk, mode);
    ASSERT_TRUE(first.report.ok()) << first.report.error().to_string();
    ASSERT_TRUE(second.report.ok()) << second.report.error().to_string();
    EXPECT_EQ(first.records, log.records);
    EXPECT_EQ(second.records, log.records);
    EXPECT_EQ(second.report->records, first.report->records);
    EXPECT_EQ(second.report->valid_bytes, first.report->valid_bytes);
    EXPECT_EQ(second.report->next_sequence, first.report->next_sequence);
    EXPECT_EQ(second.report->next_lsn, Lsn(10));
    EXPECT_TRUE(second.report->anomalies.empty());
    EXPECT_EQ(second.report->segment_ids(), (std::vector<uint64_t>{1, 2, 3}));
  }
  expect_clean(disk, log.records, {1, 2, 3});
}

TEST(RecoveryTest, VisitorSeesEveryRecordWithItsPosition) {
  SimDisk disk;
  Log log = write_log(disk);
  Recovered r = run(disk, RecoveryMode::kDefault, /*dry_run=*/true);
  ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
  ASSERT_EQ(r.positions.size(), log.appends.size());
  for (size_t i = 0; i < log.appends.size(); ++i) {
    EXPECT_EQ(r.positions[i].first, log.appends[i].segment_id) << i;
    EXPECT_EQ(r.positions[i].second, log.appends[i].offset) << i;
  }
  EXPECT_EQ(r.records, log.records);
}

TEST(RecoveryTest, VisitorErrorStopsRecovery) {
  SimDisk disk;
  write_log(disk);
  truncate_segment(disk, 3, 250);
  const Snapshot before = snapshot(disk);
  int seen = 0;
  auto r = recover(small_config(), disk, {}, [&](uint64_t, uint64_t, const RecordView&) {
    return ++seen == 4 ? Status(Error(ErrorKind::kInternal, "engine says stop"))
                       : Status();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInternal);
  EXPECT_EQ(seen, 4);
  EXPECT_EQ(snapshot(disk), before);
}

TEST(RecoveryTest, ReportToStringNamesRecordsAnomaliesAndDrops) {
  SimDisk disk;
  write_log(disk);
  truncate_segment(disk, 3, 250);
  Recovered dry = run(disk, RecoveryMode::kDefault, /*dry_run=*/true);
  ASSERT_TRUE(dry.report.ok()) << dry.report.error().to_string();
  const std::string d = dry.report->to_string();
  EXPECT_THAT(d, HasSubstr("dry run, mode default: 8 records in 3 segments"));
  EXPECT_THAT(d, HasSubstr("next LSN 9"));
  EXPECT_THAT(
      d, HasSubstr("anomaly: segment 3 offset 190 LSN 9: torn tail: partial payload"));
  EXPECT_THAT(d, HasSubstr("would drop segment 3 from offset 190 (60 bytes)"));

  Recovered pit = run(disk, RecoveryMode::kPointInTime);
  ASSERT_TRUE(pit.report.ok()) << pit.report.error().to_string();
  const std::string p = pit.report->to_string();
  EXPECT_THAT(p, HasSubstr("mode point-in-time: 8 records"));
  EXPECT_THAT(p, HasSubstr("dropped segment 3 from offset 190 (60 bytes), kept in " +
                           lost_path(3, 190)));
  EXPECT_EQ(p.find("dry run"), std::string::npos);
}

TEST(RecoveryTest, AnomalyToStringNamesTheLsnWhenKnown) {
  SimDisk disk;
  Log log = write_log(disk);
  append_to_segment(disk, 3, record_bytes(disk, log.appends[8]));
  Recovered r = run(disk, RecoveryMode::kPointInTime, /*dry_run=*/true);
  ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
  ASSERT_EQ(r.report->anomalies.size(), 1u);
  EXPECT_THAT(r.report->anomalies[0].to_string(),
              HasSubstr("segment 3 offset 285 LSN 9: corruption: LSN steps back"));
}

// Dry run and apply agree, also when the planned wal/lost/ name is already taken.
TEST(RecoveryTest, PointInTimeNeverOverwritesWhatIsInLost) {
  SimDisk disk;
  write_log(disk);
  KAYA_ASSERT_OK(disk.create_dir(RelativePath::parse("wal/lost").value()));
  const RelativePath taken = RelativePath::parse(lost_path(3, 190)).value();
  KAYA_ASSERT_OK(disk.append(taken, Bytes{1, 2, 3}));
  truncate_segment(disk, 3, 250);
  Recovered dry = run(disk, RecoveryMode::kPointInTime, /*dry_run=*/true);
  ASSERT_TRUE(dry.report.ok()) << dry.report.error().to_string();
  ASSERT_EQ(dry.report->dropped.size(), 1u);
  EXPECT_EQ(dry.report->dropped[0].moved_to, lost_path(3, 190) + ".1");
  Recovered real = run(disk, RecoveryMode::kPointInTime);
  ASSERT_TRUE(real.report.ok()) << real.report.error().to_string();
  ASSERT_EQ(real.report->dropped.size(), 1u);
  EXPECT_EQ(real.report->dropped[0].moved_to, lost_path(3, 190) + ".1");
  EXPECT_EQ(read_file(disk, taken), (Bytes{1, 2, 3}));
  EXPECT_EQ(read_file(disk, RelativePath::parse(lost_path(3, 190) + ".1").value()).size(),
            60u);
}

// ---------------------------------------------------------------------------------
// Empty logs.

TEST(RecoveryEmptyLogTest, NoWalDirectory) {
  SimDisk disk;
  for (RecoveryMode mode : kModes) {
    for (bool dry_run : {true, false}) {
      SCOPED_TRACE(std::string(to_string(mode)) + (dry_run ? " dry run" : ""));
      Recovered r = run(disk, mode, dry_run);
      ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
      EXPECT_EQ(r.report->next_lsn, Lsn(1));
      EXPECT_FALSE(r.report->next_sequence.has_value());
      EXPECT_FALSE(r.report->first_lsn.has_value());
      EXPECT_EQ(r.report->records, 0u);
      EXPECT_TRUE(r.report->anomalies.empty());
      EXPECT_TRUE(r.report->segments.empty());
      EXPECT_TRUE(r.records.empty());
      EXPECT_TRUE(snapshot(disk).empty()) << "recovery created files";
    }
  }
}

TEST(RecoveryEmptyLogTest, EmptySegment) {
  SimDisk disk;
  KAYA_ASSERT_OK(disk.create_dir(RelativePath::parse("wal").value()));
  KAYA_ASSERT_OK(disk.append(segment(1), Bytes()));
  expect_clean(disk, {}, {1});
  Recovered r = run(disk, RecoveryMode::kAbsolute);
  ASSERT_TRUE(r.report.ok()) << r.report.error().to_string();
  ASSERT_EQ(r.report->segments.size(), 1u);
  EXPECT_EQ(r.report->segments[0].bytes, 0u);
  EXPECT_FALSE(r.report->segments[0].first_lsn.has_value());
  EXPECT_FALSE(r.report->next_sequence.has_value());
}

TEST(RecoveryEmptyLogTest, LogOpenedAndClosedWithoutRecords) {
  SimDisk disk;
  Log log;
  append_records(disk, log, {});
  expect_clean(disk, {}, {1});
}

}  // namespace
}  // namespace kaya::wal
