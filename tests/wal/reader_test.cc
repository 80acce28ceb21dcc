// Reading from any LSN (LogReader): every start position, segment boundaries, the
// torn tail and damage, LSN gaps, and a writer's steps landing between a reader's.
#include "kaya/wal/reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "wal/reader_test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using namespace reader_testing;  // NOLINT(google-build-using-namespace)
using io::SimDisk;
using testing::segment;
using testing::small_segments;

// Flips one byte of a segment through the disk.
void flip_byte(io::Disk& disk, uint64_t segment_id, uint64_t offset) {
  uint8_t b = 0;
  auto n = disk.read_at(segment(segment_id), offset, std::span<uint8_t>(&b, 1));
  ASSERT_TRUE(n.ok() && *n == 1);
  b ^= 0x20;
  KAYA_ASSERT_OK(disk.write_at(segment(segment_id), offset, io::ByteView(&b, 1)));
}

void expect_reads_from_every_lsn(io::Disk& disk, uint64_t n) {
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  ASSERT_NE(w, nullptr);
  Log log;
  append_n(*w, n, kStrict, log);
  ASSERT_GT(log.segments.size(), 10u);
  for (uint64_t from = 1; from <= n + 1; ++from) {
    SCOPED_TRACE("from LSN " + std::to_string(from));
    auto reader = open_reader(config, disk, Lsn(from));
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(reader->position(), Lsn(from));
    auto records = read_to_end(*reader);
    KAYA_ASSERT_OK(records);
    EXPECT_EQ(*records, log.from(from));
    EXPECT_EQ(reader->position(), Lsn(n + 1));
    auto again = reader->next();  // the end stays the end
    KAYA_ASSERT_OK(again);
    EXPECT_FALSE(again->has_value());
  }
}

TEST(ReaderTest, ReadsFromEveryLsnOfAMultiSegmentLog) {
  SimDisk disk;
  expect_reads_from_every_lsn(disk, 80);
}

TEST(ReaderTest, ReadsFromEveryLsnOnFileDisk) {
  kaya::testing::TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  expect_reads_from_every_lsn(**disk, 40);
}

TEST(ReaderTest, RejectsLsnZeroAndLsnsPastTheEnd) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 30, kStrict, log);
  expect_error(LogReader::open(config, disk, Lsn(0)), ErrorKind::kInvalidArgument,
               {"LSN 0"});
  for (uint64_t from : {32u, 33u, 1000u}) {
    expect_error(LogReader::open(config, disk, Lsn(from)), ErrorKind::kInvalidArgument,
                 {"LSN " + std::to_string(from) + " is past the end", "next LSN is 31"});
  }
}

TEST(ReaderTest, EmptyLogReadsAsTheEndAndFollowsAppends) {
  SimDisk disk;
  // No wal/ directory at all.
  auto reader = open_reader({}, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  auto r = reader->next();
  KAYA_ASSERT_OK(r);
  EXPECT_FALSE(r->has_value());
  expect_error(LogReader::open({}, disk, Lsn(2)), ErrorKind::kInvalidArgument,
               {"LSN 2 is past the end", "next LSN is 1"});

  // A reader opened before the first append sees it afterwards.
  auto w = open_or_die({}, disk);
  ASSERT_NE(w, nullptr);
  Log log;
  append_n(*w, 2, kStrict, log);
  auto records = read_to_end(*reader);
  KAYA_ASSERT_OK(records);
  EXPECT_EQ(*records, log.records);
}

TEST(ReaderTest, FindsSegmentBoundariesAmong200Segments) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  ASSERT_NE(w, nullptr);
  Log log;
  // 140-byte records: two per 300-byte segment.
  while (w->stats().active_segment_id < 200) {
    auto r = w->append(
        Payload::put(kaya::testing::cat("k", std::to_string(log.records.size())),
                     std::string(140 - 40 - 8 - 5, 'v')),
        kStrict);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    log.records.push_back(
        Record{r->lsn, r->sequence, RecordType::kPut,
               kaya::testing::cat("k", std::to_string(log.records.size())),
               std::string(140 - 40 - 8 - 5, 'v')});
    auto [it, added] = log.segments.try_emplace(r->segment_id, r->lsn.value(), 0);
    it->second.second = r->lsn.value();
  }
  ASSERT_EQ(log.segments.size(), 200u);
  for (const auto& [id, range] : log.segments) {
    for (uint64_t from : {range.first, range.second}) {
      SCOPED_TRACE(kaya::testing::cat("segment ", std::to_string(id), ", from LSN ",
                                      std::to_string(from)));
      auto reader = open_reader(config, disk, Lsn(from));
      ASSERT_NE(reader, nullptr);
      const uint64_t check = id % 25 == 0 ? log.records.size() : 3;
      for (uint64_t lsn = from; lsn < from + check && lsn <= log.records.size(); ++lsn) {
        auto r = reader->next();
        KAYA_ASSERT_OK(r);
        ASSERT_TRUE(r->has_value()) << "LSN " << lsn;
        ASSERT_EQ(**r, log.records[lsn - 1]);
      }
    }
  }
}

TEST(ReaderTest, ReleasedLsnIsNotFound) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 40, kStrict, log);
  const uint64_t kept = log.first_of(4);
  auto report = w->release_before(Lsn(kept));
  KAYA_ASSERT_OK(report);
  ASSERT_EQ(report->first_lsn_kept, Lsn(kept));
  for (uint64_t from : {uint64_t{1}, kept - 1}) {
    expect_error(LogReader::open(config, disk, Lsn(from)), ErrorKind::kNotFound,
                 {"LSN " + std::to_string(from) + " has been released",
                  "the log now starts at LSN " + std::to_string(kept)});
  }
  auto reader = open_reader(config, disk, Lsn(kept));
  ASSERT_NE(reader, nullptr);
  auto records = read_to_end(*reader);
  KAYA_ASSERT_OK(records);
  EXPECT_EQ(*records, log.from(kept));
}

TEST(ReaderTest, TornTailReadsAsTheEnd) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 20, kStrict, log);
  const uint64_t last = log.segments.rbegin()->first;
  KAYA_ASSERT_OK(w->close());
  const std::vector<uint8_t> garbage(30, 0xAB);
  KAYA_ASSERT_OK(disk.append(segment(last), garbage).status());
  for (uint64_t from : {uint64_t{1}, uint64_t{15}, uint64_t{21}}) {
    SCOPED_TRACE("from LSN " + std::to_string(from));
    auto reader = open_reader(config, disk, Lsn(from));
    ASSERT_NE(reader, nullptr);
    auto records = read_to_end(*reader);
    KAYA_ASSERT_OK(records);
    EXPECT_EQ(*records, log.from(from));
    auto again = reader->next();
    KAYA_ASSERT_OK(again);
    EXPECT_FALSE(again->has_value());
  }
}

TEST(ReaderTest, PartialRecordAtTheEndIsReadOnceComplete) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 10, kStrict, log);
  const uint64_t last = log.segments.rbegin()->first;
  KAYA_ASSERT_OK(w->close());
  auto bytes = encode(Payload::put("late", "record"), Lsn(11), SequenceNumber(11));
  KAYA_ASSERT_OK(bytes);
  const io::ByteView all(*bytes);
  KAYA_ASSERT_OK(disk.append(segment(last), all.first(50)).status());

  auto reader = open_reader(config, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  auto records = read_to_end(*reader);
  KAYA_ASSERT_OK(records);
  EXPECT_EQ(*records, log.records);
  // The rest of the write arrives: the same reader now reads the record.
  KAYA_ASSERT_OK(disk.append(segment(last), all.subspan(50)).status());
  auto r = reader->next();
  KAYA_ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r,
            (Record{Lsn(11), SequenceNumber(11), RecordType::kPut, "late", "record"}));
}

TEST(ReaderTest, DamagedRecordInAClosedSegmentIsCorruption) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 40, kStrict, log);
  // The last record of segment 2 (a closed segment): its LSN field changes, so the
  // header checksum no longer matches.
  const AppendResult& bad = log.acks[log.last_of(2) - 1];
  ASSERT_EQ(bad.segment_id, 2u);
  flip_byte(disk, 2, bad.offset + format::kLsnOffset);

  auto reader = open_reader(config, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  std::vector<Record> got;
  Result<std::optional<Record>> r = std::optional<Record>();
  while ((r = reader->next()).ok() && r->has_value()) got.push_back(std::move(**r));
  // Segment 2 was sealed, so it is at or below the recovery point: durable data.
  expect_error(r, ErrorKind::kCorruption,
               {"segment 2 ", "at offset " + std::to_string(bad.offset),
                "header checksum", "at or below the recovery point"});
  EXPECT_EQ(got, std::vector<Record>(log.records.begin(),
                                     log.records.begin() + bad.lsn.value() - 1));

  // Starting past the damage never touches it; starting before it meets it in open().
  auto after = open_reader(config, disk, Lsn(log.first_of(3)));
  ASSERT_NE(after, nullptr);
  auto rest = read_to_end(*after);
  KAYA_ASSERT_OK(rest);
  EXPECT_EQ(*rest, log.from(log.first_of(3)));
  expect_error(LogReader::open(config, disk, bad.lsn), ErrorKind::kCorruption,
               {"segment 2 ", "at offset " + std::to_string(bad.offset)});
}

TEST(ReaderTest, DamagedRecordFollowedByAValidOneIsCorruption) {
  SimDisk disk;
  auto w = open_or_die({}, disk);  // one segment: the damage is in the last one
  Log log;
  append_n(*w, 5, kStrict, log);
  KAYA_ASSERT_OK(w->close());
  // Without a recovery point (a log kaya 0.1 or KayaDB wrote) the damage is judged by
  // what follows it.
  KAYA_ASSERT_OK(disk.remove_file(io::RelativePath::parse("wal/RECOVERY_POINT").value()));
  const AppendResult& bad = log.acks[2];
  flip_byte(disk, 1, bad.offset + format::kLsnOffset);
  auto reader = open_reader({}, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  auto records = read_to_end(*reader);
  expect_error(
      records, ErrorKind::kCorruption,
      {"segment 1 ", "at offset " + std::to_string(bad.offset),
       "followed by a valid record at offset " + std::to_string(log.acks[3].offset)});
}

// range-for over a LogReader: every record in order to the end of the log, and an
// error ends the range with the records before it, the error kept in error().
TEST(ReaderTest, RangeForReadsToTheEndOrStopsAtTheError) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 40, kStrict, log);
  auto reader = open_reader(config, disk, Lsn(5));
  ASSERT_NE(reader, nullptr);
  std::vector<Record> got;
  for (const Record& r : reader->records()) got.push_back(r);
  EXPECT_FALSE(reader->error().has_value());
  EXPECT_EQ(got, log.from(5));
  EXPECT_EQ(reader->position(), Lsn(41));
  // At the end: an empty range, still no error.
  for (const Record& r : reader->records()) ADD_FAILURE() << "LSN " << r.lsn.value();
  EXPECT_FALSE(reader->error().has_value());

  const AppendResult& bad = log.acks[log.last_of(2) - 1];
  flip_byte(disk, 2, bad.offset + format::kLsnOffset);
  auto damaged = open_reader(config, disk, Lsn(1));
  ASSERT_NE(damaged, nullptr);
  got.clear();
  for (const Record& r : damaged->records()) got.push_back(r);
  ASSERT_TRUE(damaged->error().has_value());
  EXPECT_EQ(damaged->error()->kind(), ErrorKind::kCorruption);
  EXPECT_NE(damaged->error()->message().find("segment 2 "), std::string::npos)
      << damaged->error()->message();
  EXPECT_EQ(got, std::vector<Record>(log.records.begin(),
                                     log.records.begin() + bad.lsn.value() - 1));
}

TEST(ReaderTest, LsnGapBetweenSegmentsIsCorruption) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_or_die(config, disk);
  Log log;
  append_n(*w, 30, kStrict, log);
  KAYA_ASSERT_OK(w->close());
  // Re-encode the first record of segment 3 with an LSN 5 too high: a valid record,
  // out of order.
  const uint64_t lsn = log.first_of(3);
  std::string key, value;
  const Payload p = payload_of(lsn - 1, key, value);
  auto bytes = encode(p, Lsn(lsn + 5), log.records[lsn - 1].sequence);
  KAYA_ASSERT_OK(bytes);
  KAYA_ASSERT_OK(disk.write_at(segment(3), 0, *bytes));

  auto reader = open_reader(config, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  expect_error(
      read_to_end(*reader), ErrorKind::kCorruption,
      {"segment 3 ", "offset 0", "LSN gap", "record has LSN " + std::to_string(lsn + 5),
       "expected " + std::to_string(lsn)});
}

// The reader met the end of segment 1; before it looks for segment 2, the writer
// finishes segment 1 (`first_part` then `rest` of record 3) and starts segment 2 with
// record 4. The reader must read record 3 from segment 1 rather than move on.
void expect_rotation_race_handled(size_t first_part) {
  SimDisk base;
  InterposingDisk disk(base);
  auto w = open_or_die({}, disk);
  Log log;
  append_n(*w, 2, kStrict, log);
  KAYA_ASSERT_OK(w->close());
  w.reset();
  auto third = encode(Payload::put("third", "3"), Lsn(3), SequenceNumber(3));
  auto fourth = encode(Payload::put("fourth", "4"), Lsn(4), SequenceNumber(4));
  KAYA_ASSERT_OK(third);
  KAYA_ASSERT_OK(fourth);
  const io::ByteView third_bytes(*third);
  KAYA_ASSERT_OK(base.append(segment(1), third_bytes.first(first_part)).status());

  auto reader = open_reader({}, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  auto records = read_to_end(*reader);
  KAYA_ASSERT_OK(records);
  ASSERT_EQ(*records, log.records);
  bool fired = false;
  disk.before_file_len = [&](const io::RelativePath& p) {
    if (fired || p != segment(2)) return;
    fired = true;
    ASSERT_TRUE(base.append(segment(1), third_bytes.subspan(first_part)).ok());
    ASSERT_TRUE(base.append(segment(2), *fourth).ok());
  };
  for (uint64_t lsn : {3u, 4u}) {
    auto r = reader->next();
    KAYA_ASSERT_OK(r);
    ASSERT_TRUE(r->has_value()) << "LSN " << lsn;
    EXPECT_EQ((*r)->lsn, Lsn(lsn));
  }
  EXPECT_TRUE(fired);
}

TEST(ReaderTest, SegmentFinishedWhileTheReaderLooksForTheNextOne) {
  expect_rotation_race_handled(0);
}

TEST(ReaderTest, PartialRecordCompletedWhileTheReaderLooksForTheNextSegment) {
  expect_rotation_race_handled(50);
}

}  // namespace
}  // namespace kaya::wal
