// LogReader with ReadOptions::read_up_to_damage: damage that open() meets before the
// first record (a missing segment, a segment without a valid first record, an empty
// one, a damaged record below `from`) ends the records instead of failing open(): the
// records before it come out, then the very error open() fails with by default. The
// log is read only: nothing on the disk changes.
#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/reader.h"
#include "testing/test_util.h"
#include "wal/recovery_scenario.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {

// Failure messages show records by their numbers (defined in reader_test_util.cc).
void PrintTo(const Record& r, std::ostream* os);

namespace {

using recovery_testing::kRecordBytes;
using WrittenLog = recovery_testing::Log;  // reader_test.cc has a Log of its own
using recovery_testing::snapshot;
using recovery_testing::write_log;
using testing::read_until_end;
using testing::segment;

std::vector<Record> first_records(const WrittenLog& log, size_t n) {
  return {log.records.begin(), log.records.begin() + static_cast<ptrdiff_t>(n)};
}

std::vector<Record> records_from(const WrittenLog& log, uint64_t lsn) {
  return {log.records.begin() + static_cast<ptrdiff_t>(lsn - 1), log.records.end()};
}

ReadOptions up_to_damage() {
  ReadOptions options;
  options.read_up_to_damage = true;
  return options;
}

// The reader opened at `from` with read_up_to_damage yields `expected`, then the error
// a default open() at `from` fails with (the same kind and words), and that error again
// at the next call, of next() and of next_view() alike.
void expect_prefix_then_open_error(io::Disk& disk, Lsn from,
                                   const std::vector<Record>& expected) {
  SCOPED_TRACE("from LSN " + std::to_string(from.value()));
  const WalConfig config = recovery_testing::small_config();
  auto refused = LogReader::open(config, disk, from);
  ASSERT_FALSE(refused.ok()) << "a default open() refuses this log";
  ASSERT_EQ(refused.error().kind(), ErrorKind::kCorruption)
      << refused.error().to_string();

  auto reader = LogReader::open(config, disk, from, up_to_damage());
  KAYA_ASSERT_OK(reader);
  const testing::ReadUntilEnd read = read_until_end(**reader);
  EXPECT_EQ(read.records, expected);
  ASSERT_TRUE(read.error.has_value()) << "the records must end in the error";
  EXPECT_EQ(read.error->kind(), refused.error().kind());
  EXPECT_EQ(read.error->message(), refused.error().message());
  auto again = (*reader)->next_view();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message(), refused.error().message());
}

// Twelve records, three per segment: segments 1-4, segment 2 removed. At or below the
// recovery point a missing segment is corruption; the records before the hole come
// out, then the hole's error; from an LSN at or past the hole, only the error.
TEST(ReadUpToDamageTest, MissingSegmentYieldsTheRecordsBeforeTheHoleThenItsError) {
  io::SimDisk disk;
  const WrittenLog log = write_log(disk, 12);
  KAYA_ASSERT_OK(disk.remove_file(segment(2)));
  const auto before = snapshot(disk);

  ASSERT_NO_FATAL_FAILURE(
      expect_prefix_then_open_error(disk, Lsn(1), first_records(log, 3)));
  ASSERT_NO_FATAL_FAILURE(expect_prefix_then_open_error(disk, Lsn(3), {log.records[2]}));
  ASSERT_NO_FATAL_FAILURE(expect_prefix_then_open_error(disk, Lsn(5), {}));
  ASSERT_NO_FATAL_FAILURE(expect_prefix_then_open_error(disk, Lsn(10), {}));
  auto refused = LogReader::open(recovery_testing::small_config(), disk, Lsn(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("segment 2 is missing"), std::string::npos)
      << refused.error().to_string();
  EXPECT_EQ(snapshot(disk), before);
}

// A segment that is not the last and holds no valid record at offset 0 (its first
// record zeroed): the records of the segments before it, then its error.
TEST(ReadUpToDamageTest, SegmentWithoutAValidFirstRecordEndsTheRecordsBeforeIt) {
  io::SimDisk disk;
  const WrittenLog log = write_log(disk, 12);
  recovery_testing::write_segment_at(disk, 3, 0,
                                     recovery_testing::Bytes(kRecordBytes, 0));
  const auto before = snapshot(disk);

  ASSERT_NO_FATAL_FAILURE(
      expect_prefix_then_open_error(disk, Lsn(1), first_records(log, 6)));
  ASSERT_NO_FATAL_FAILURE(expect_prefix_then_open_error(disk, Lsn(11), {}));
  EXPECT_EQ(snapshot(disk), before);
}

// An empty segment below the one `from` lies in: no record from `from` on comes before
// it.
TEST(ReadUpToDamageTest, EmptySegmentBelowFromIsTheFirstThingRead) {
  io::SimDisk disk;
  write_log(disk, 12);
  recovery_testing::truncate_segment(disk, 2, 0);
  const auto before = snapshot(disk);

  ASSERT_NO_FATAL_FAILURE(expect_prefix_then_open_error(disk, Lsn(10), {}));
  EXPECT_EQ(snapshot(disk), before);
}

// A damaged record below `from` in the segment `from` lies in, which open() meets
// while it skips to `from`: the error first. Read from before it, the records end at it
// as without the option.
TEST(ReadUpToDamageTest, CorruptRecordBelowFromIsTheFirstThingRead) {
  io::SimDisk disk;
  const WrittenLog log = write_log(disk);
  const AppendResult& bad = log.appends[4];  // LSN 5, in segment 2
  recovery_testing::flip_byte(disk, bad.segment_id, bad.offset + kRecordBytes - 1);
  const auto before = snapshot(disk);

  ASSERT_NO_FATAL_FAILURE(expect_prefix_then_open_error(disk, Lsn(6), {}));

  const WalConfig config = recovery_testing::small_config();
  auto plain = LogReader::open(config, disk, Lsn(2));
  KAYA_ASSERT_OK(plain);
  auto reader = LogReader::open(config, disk, Lsn(2), up_to_damage());
  KAYA_ASSERT_OK(reader);
  const testing::ReadUntilEnd expected = read_until_end(**plain);
  const testing::ReadUntilEnd read = read_until_end(**reader);
  ASSERT_TRUE(expected.error.has_value());
  EXPECT_EQ(expected.records,
            std::vector<Record>(log.records.begin() + 1, log.records.begin() + 4));
  EXPECT_EQ(read.records, expected.records);
  ASSERT_TRUE(read.error.has_value());
  EXPECT_EQ(read.error->message(), expected.error->message());
  EXPECT_NE(read.error->message().find("segment 2 "), std::string::npos);
  EXPECT_NE(read.error->message().find("at offset " + std::to_string(bad.offset)),
            std::string::npos)
      << read.error->to_string();
  EXPECT_EQ(snapshot(disk), before);
}

// The option changes nothing on an undamaged log, and open()'s errors that are not
// damage stay open()'s: a released LSN, one past the end, LSN 0.
TEST(ReadUpToDamageTest, OtherOpenErrorsAndCleanLogsAreUnchanged) {
  io::SimDisk disk;
  const WrittenLog log = write_log(disk, 12);
  const WalConfig config = recovery_testing::small_config();
  for (uint64_t from : {1, 5, 12, 13}) {
    auto reader = LogReader::open(config, disk, Lsn(from), up_to_damage());
    KAYA_ASSERT_OK(reader);
    const testing::ReadUntilEnd read = read_until_end(**reader);
    EXPECT_FALSE(read.error.has_value()) << read.error->to_string();
    EXPECT_EQ(read.records, records_from(log, from));
  }
  auto past = LogReader::open(config, disk, Lsn(14), up_to_damage());
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().kind(), ErrorKind::kInvalidArgument);
  auto zero = LogReader::open(config, disk, Lsn(0), up_to_damage());
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().kind(), ErrorKind::kInvalidArgument);
  KAYA_ASSERT_OK(disk.remove_file(segment(1)));  // as a release leaves it
  auto released = LogReader::open(config, disk, Lsn(1), up_to_damage());
  ASSERT_FALSE(released.ok());
  EXPECT_EQ(released.error().kind(), ErrorKind::kNotFound)
      << released.error().to_string();
}

}  // namespace
}  // namespace kaya::wal
