// Recovery of damaged durable data (corruption) and of records of a newer format
// (refused), in every recovery mode (scenarios: recovery_scenario.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery.h"
#include "testing/test_util.h"
#include "wal/recovery_scenario.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using io::SimDisk;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::segment;
using namespace recovery_testing;  // NOLINT(google-build-using-namespace)

// Corruption: durable data is damaged.

TEST(RecoveryCorruptionTest, FlippedByteInAMiddleRecordOfTheLastSegment) {
  Scenario s;
  s.name = "flip a byte of record 8 (segment 3, offset 95)";
  s.damage = [](io::Disk& disk, Log&) { flip_byte(disk, 3, kRecordBytes + 60); };
  s.segment_id = 3;
  s.offset = kRecordBytes;
  s.lsn = Lsn(8);
  s.reason = "bad payload checksum: stored";
  s.kept = 7;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kRecordBytes, 2 * kRecordBytes}};
  check_scenario(s);
  s.reason = "followed by a valid record at offset 190";
  check_scenario(s);
}

Scenario closed_segment_flip(uint64_t record_in_segment) {
  Scenario s;
  const uint64_t offset = record_in_segment * kRecordBytes;
  s.name = "flip a byte of segment 2 at offset " + std::to_string(offset + 60);
  s.damage = [offset](io::Disk& disk, Log&) { flip_byte(disk, 2, offset + 60); };
  s.segment_id = 2;
  s.offset = offset;
  s.reason = "bad payload checksum";
  s.kept = 3 + record_in_segment;
  s.lsn = Lsn(s.kept + 1);
  s.segments = offset > 0 ? std::vector<uint64_t>{1, 2} : std::vector<uint64_t>{1};
  s.cuts = {{2, offset, kSegmentBytes - offset}, {3, 0, kSegmentBytes}};
  return s;
}

TEST(RecoveryCorruptionTest, FlippedByteInAClosedSegment) {
  Scenario s = closed_segment_flip(1);
  check_scenario(s);
  s.reason = "(not the last segment";
  check_scenario(s);
}

TEST(RecoveryCorruptionTest, FlippedByteInTheFirstRecordOfAClosedSegment) {
  check_scenario(closed_segment_flip(0));
}

TEST(RecoveryCorruptionTest, FlippedByteInAClosedSegmentOnFileDisk) {
  check_scenario(closed_segment_flip(1), DiskType::kFile);
}

// Unknown flags with a fixed header CRC: a record of a newer format, which no mode may
// cut or read as something else. Refused with UnsupportedVersion; nothing changes.
TEST(RecoveryRefusalTest, UnknownFlagsWithAFixedCrcAreRefusedInEveryMode) {
  for (RecoveryMode mode : kModes) {
    for (bool dry_run : {true, false}) {
      SCOPED_TRACE(std::string(to_string(mode)) + (dry_run ? " dry run" : ""));
      SimDisk disk;
      Log log = write_log(disk);
      Bytes rec = record_bytes(disk, log.appends[1]);
      set_le(rec, format::kFlagsOffset, 1, 2);
      fix_header_crc(rec);
      write_segment_at(disk, 1, kRecordBytes, rec);
      Snapshot before = snapshot(disk);
      before.erase(std::string(format::kLockFile));
      Recovered r = run(disk, mode, dry_run);
      ASSERT_FALSE(r.report.ok());
      EXPECT_EQ(r.report.error().kind(), ErrorKind::kUnsupportedVersion);
      EXPECT_THAT(r.report.error().message(),
                  AllOf(HasSubstr("segment 1 ("), HasSubstr("at offset 95 (LSN 2)"),
                        HasSubstr("unknown flags")));
      Snapshot after = snapshot(disk);
      after.erase(std::string(format::kLockFile));
      EXPECT_EQ(after, before);
    }
  }
}

TEST(RecoveryCorruptionTest, ValidRecordAfterGarbage) {
  Scenario s;
  s.name = "garbage, then a copy of record 1, after the last record";
  s.damage = [](io::Disk& disk, Log& log) {
    append_to_segment(disk, 3, garbage(100, 11));
    append_to_segment(disk, 3, record_bytes(disk, log.appends[0]));
  };
  s.segment_id = 3;
  s.offset = kSegmentBytes;
  s.reason =
      "followed by a valid record at offset " + std::to_string(kSegmentBytes + 100);
  s.kept = 9;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kSegmentBytes, 100 + kRecordBytes}};
  check_scenario(s);
}

Scenario missing_middle_segment() {
  Scenario s;
  s.name = "segment 2 deleted";
  s.damage = [](io::Disk& disk, Log&) { KAYA_ASSERT_OK(disk.remove_file(segment(2))); };
  s.segment_id = 3;
  s.offset = 0;
  s.reason = "segment 2 is missing";
  s.kept = 3;
  s.segments = {1};
  s.cuts = {{3, 0, kSegmentBytes}};
  return s;
}

TEST(RecoveryCorruptionTest, MissingMiddleSegment) {
  check_scenario(missing_middle_segment());
}

TEST(RecoveryCorruptionTest, MissingMiddleSegmentOnFileDisk) {
  check_scenario(missing_middle_segment(), DiskType::kFile);
}

TEST(RecoveryCorruptionTest, DuplicatedLastRecordStepsBack) {
  Scenario s;
  s.name = "record 9 appended again";
  s.damage = [](io::Disk& disk, Log& log) {
    append_to_segment(disk, 3, record_bytes(disk, log.appends[8]));
  };
  s.segment_id = 3;
  s.offset = kSegmentBytes;
  s.lsn = Lsn(9);
  s.reason = "LSN steps back: record has LSN 9, expected 10";
  s.kept = 9;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kSegmentBytes, kRecordBytes}};
  check_scenario(s);
}

TEST(RecoveryCorruptionTest, LsnGapInsideASegment) {
  Scenario s;
  s.name = "record 8 resealed with LSN 13";
  s.damage = [](io::Disk& disk, Log& log) { reseal_lsn(disk, log.appends[7], 13); };
  s.segment_id = 3;
  s.offset = kRecordBytes;
  s.lsn = Lsn(13);
  s.reason = "LSN gap: record has LSN 13, expected 8";
  s.kept = 7;
  s.segments = {1, 2, 3};
  s.cuts = {{3, kRecordBytes, 2 * kRecordBytes}};
  check_scenario(s);
}

TEST(RecoveryCorruptionTest, LsnGapAcrossSegments) {
  Scenario s;
  s.name = "record 7 (first of segment 3) resealed with LSN 12";
  s.damage = [](io::Disk& disk, Log& log) { reseal_lsn(disk, log.appends[6], 12); };
  s.segment_id = 3;
  s.offset = 0;
  s.lsn = Lsn(12);
  s.reason = "LSN gap: record has LSN 12, expected 7";
  s.kept = 6;
  s.segments = {1, 2};
  s.cuts = {{3, 0, kSegmentBytes}};
  check_scenario(s);
}

}  // namespace
}  // namespace kaya::wal
