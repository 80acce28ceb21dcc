// Reading from any LSN (LogReader), following a live writer (TailingReader), and
// releasing old segments (Writer::release_before) while readers read.
#include "kaya/wal/reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <ostream>
#include <thread>

#include "kaya/io/fault_disk.h"
#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {

// Failure messages show records by their numbers, not as raw bytes.
void PrintTo(const Record& r, std::ostream* os) {
  *os << "{lsn " << r.lsn.value() << ", seq " << r.sequence.value() << ", "
      << to_string(r.type) << ", key \"" << r.key << "\", " << r.value.size()
      << "-byte value}";
}

namespace {

using io::FaultKind;
using io::SimDisk;
using testing::crash_with_writer;
using testing::FsyncGate;
using testing::read_log;
using testing::segment;
using testing::small_segments;
using namespace std::chrono_literals;

constexpr auto kStrict = DurabilityMode::kStrict;
constexpr auto kRelaxed = DurabilityMode::kRelaxed;
// Generous bound for waits that must end; never a timing assertion.
constexpr auto kLiveness = std::chrono::seconds(60);

// The i-th record of a test log: puts of varying sizes with deletes and noops mixed in.
Payload payload_of(uint64_t i, std::string& key, std::string& value) {
  key = "key-" + std::to_string(i);
  value.assign((i * 37) % 150, static_cast<char>('a' + i % 26));
  if (i % 7 == 3) return Payload::del(key);
  if (i % 11 == 5) return Payload::noop();
  return Payload::put(key, value);
}

// A log as the writer acknowledged it.
struct Log {
  std::vector<Record> records;                                 // records[i] has LSN i + 1
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> segments;  // id -> first, last LSN
  std::vector<AppendResult> acks;

  uint64_t first_of(uint64_t id) const { return segments.at(id).first; }
  uint64_t last_of(uint64_t id) const { return segments.at(id).second; }
  std::vector<Record> from(uint64_t lsn) const {
    return {records.begin() + static_cast<ptrdiff_t>(lsn - 1), records.end()};
  }
};

Result<AppendResult> append_one(Writer& w, uint64_t i, DurabilityMode mode, Log& log) {
  std::string key, value;
  const Payload p = payload_of(i, key, value);
  KAYA_ASSIGN_OR_RETURN(AppendResult ack, w.append(p, mode));
  log.records.push_back(
      Record{ack.lsn, ack.sequence, p.type, std::string(p.key), std::string(p.value)});
  auto [it, added] = log.segments.try_emplace(ack.segment_id, ack.lsn.value(), 0);
  it->second.second = ack.lsn.value();
  log.acks.push_back(ack);
  return ack;
}

void append_n(Writer& w, uint64_t n, DurabilityMode mode, Log& log) {
  for (uint64_t i = 0; i < n; ++i) {
    auto r = append_one(w, log.records.size(), mode, log);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
}

std::unique_ptr<Writer> open_writer(const WalConfig& config, io::Disk& disk) {
  auto w = Writer::open(config, disk);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return w.ok() ? std::move(w).value() : nullptr;
}

std::unique_ptr<LogReader> open_reader(const WalConfig& config, io::Disk& disk,
                                       Lsn from) {
  auto r = LogReader::open(config, disk, from);
  EXPECT_TRUE(r.ok()) << "from LSN " << from.value() << ": " << r.error().to_string();
  return r.ok() ? std::move(r).value() : nullptr;
}

// Every record up to the end of the log, or the first error.
Result<std::vector<Record>> read_to_end(LogReader& reader) {
  std::vector<Record> out;
  for (;;) {
    KAYA_ASSIGN_OR_RETURN(std::optional<Record> r, reader.next());
    if (!r) return out;
    out.push_back(std::move(*r));
  }
}

// Asserts `r` failed with `kind` and a message holding each of `parts`.
template <typename T>
void expect_error(const Result<T>& r, ErrorKind kind,
                  std::initializer_list<std::string> parts) {
  ASSERT_FALSE(r.ok()) << "expected " << to_string(kind) << " error";
  EXPECT_EQ(r.error().kind(), kind) << r.error().to_string();
  for (const std::string& part : parts) {
    EXPECT_NE(r.error().message().find(part), std::string::npos)
        << "\"" << part << "\" missing from: " << r.error().to_string();
  }
}

// Flips one byte of a segment through the disk.
void flip_byte(io::Disk& disk, uint64_t segment_id, uint64_t offset) {
  uint8_t b = 0;
  auto n = disk.read_at(segment(segment_id), offset, std::span<uint8_t>(&b, 1));
  ASSERT_TRUE(n.ok() && *n == 1);
  b ^= 0x20;
  KAYA_ASSERT_OK(disk.write_at(segment(segment_id), offset, io::ByteView(&b, 1)));
}

// Forwards to another Disk; calls a hook before each file_len(), where a test makes a
// writer's steps land between two steps of a reader.
class InterposingDisk final : public io::Disk {
 public:
  explicit InterposingDisk(io::Disk& base) : base_(base) {}
  std::function<void(const io::RelativePath&)> before_file_len;

  using Disk::append;
  Result<uint64_t> append(const io::RelativePath& p,
                          std::span<const io::ByteView> parts) override {
    return base_.append(p, parts);
  }
  Result<size_t> read_at(const io::RelativePath& p, uint64_t offset,
                         std::span<uint8_t> out) override {
    return base_.read_at(p, offset, out);
  }
  Status write_at(const io::RelativePath& p, uint64_t offset, io::ByteView b) override {
    return base_.write_at(p, offset, b);
  }
  Result<uint64_t> file_len(const io::RelativePath& p) override {
    if (before_file_len) before_file_len(p);
    return base_.file_len(p);
  }
  Status truncate(const io::RelativePath& p, uint64_t len) override {
    return base_.truncate(p, len);
  }
  Status fsync_file(const io::RelativePath& p) override { return base_.fsync_file(p); }
  Status fsync_dir(const io::RelativePath& p) override { return base_.fsync_dir(p); }
  Result<std::vector<std::string>> list_dir(const io::RelativePath& p) override {
    return base_.list_dir(p);
  }
  Status create_dir(const io::RelativePath& p) override { return base_.create_dir(p); }
  Status rename(const io::RelativePath& from, const io::RelativePath& to) override {
    return base_.rename(from, to);
  }
  Status remove_file(const io::RelativePath& p) override { return base_.remove_file(p); }
  Result<std::unique_ptr<io::FileLock>> lock_file(const io::RelativePath& p) override {
    return base_.lock_file(p);
  }
  std::string describe(const io::RelativePath& p) const override {
    return base_.describe(p);
  }

 private:
  io::Disk& base_;
};

// ---------------------------------------------------------------------------------
// LogReader

void expect_reads_from_every_lsn(io::Disk& disk, uint64_t n) {
  const WalConfig config = small_segments();
  auto w = open_writer(config, disk);
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
  auto w = open_writer(config, disk);
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
  auto w = open_writer({}, disk);
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
  auto w = open_writer(config, disk);
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
  auto w = open_writer(config, disk);
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
  auto w = open_writer(config, disk);
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
  auto w = open_writer(config, disk);
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
  auto w = open_writer(config, disk);
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
  auto w = open_writer({}, disk);  // one segment: the damage is in the last one
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
  auto w = open_writer(config, disk);
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
  auto w = open_writer(config, disk);
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
  auto w = open_writer({}, disk);
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

// ---------------------------------------------------------------------------------
// TailingReader

// A writer thread appends `n` records while the test thread follows them.
void follow_concurrent_writer(io::Disk& disk, const WalConfig& config, uint64_t n,
                              bool mixed_modes, bool include_relaxed) {
  auto w = open_writer(config, disk);
  ASSERT_NE(w, nullptr);
  auto tailer = TailingReader::open(*w, Lsn(1), TailOptions{include_relaxed});
  KAYA_ASSERT_OK(tailer);
  Log log;  // the writer thread's until join()
  std::thread writer_thread([&] {
    for (uint64_t i = 0; i < n; ++i) {
      auto r = append_one(*w, i, mixed_modes && i % 3 == 0 ? kRelaxed : kStrict, log);
      if (!r.ok()) {
        ADD_FAILURE() << r.error().to_string();
        return;
      }
    }
    // A default tailer sees the last relaxed records only once they are durable.
    KAYA_EXPECT_OK(w->sync());
  });
  std::vector<Record> received;
  const auto guard = std::chrono::steady_clock::now() + kLiveness;
  while (received.size() < n && std::chrono::steady_clock::now() < guard) {
    auto r = (*tailer)->next(100ms);
    if (!r.ok()) {
      ADD_FAILURE() << r.error().to_string();
      break;
    }
    if (r->has_value()) received.push_back(std::move(**r));
  }
  writer_thread.join();
  ASSERT_EQ(received.size(), n) << "the liveness guard passed";
  EXPECT_EQ(received, log.records);
  EXPECT_EQ((*tailer)->position(), Lsn(n + 1));
  EXPECT_GT(w->stats().rotations, 10u);
}

// A reader polling at the end of a segment with preallocated space (zeros to the end of
// the file) checks those zeros once, then reads only a header per poll until records
// arrive; what arrives is read as usual.
// A LogReader that reached the end keeps calling next() to follow a writer it shares
// nothing with (a writer of another process): here the writer and the reader each
// have a FileDisk of their own on one directory, so the reader sees only what the
// file system shows it. Every record, strict or relaxed, is read once its append
// returned, across rotations.
TEST(LogReaderTest, FollowsAWriterOfAnotherDiskAfterTheEnd) {
  kaya::testing::TempDir dir;
  auto writer_disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(writer_disk);
  auto reader_disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(reader_disk);
  WalConfig config;
  config.segment_max_bytes = 4096;
  config.max_record_bytes = 4096;
  auto w = open_writer(config, **writer_disk);
  ASSERT_NE(w, nullptr);
  auto reader = open_reader(config, **reader_disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  Log log;
  size_t seen = 0;
  for (int round = 0; round < 40; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    append_n(*w, 1 + round % 9, round % 3 == 0 ? kRelaxed : kStrict, log);
    auto records = read_to_end(*reader);
    KAYA_ASSERT_OK(records);
    EXPECT_EQ(*records, log.from(seen + 1)) << "reader at LSN " << seen + 1;
    seen = log.records.size();
    EXPECT_EQ(reader->position(), Lsn(seen + 1));
  }
  EXPECT_GT(log.segments.size(), 3u) << "the test should cross rotations";
}

TEST(LogReaderTest, PollingAtAPreallocatedTailReadsAHeaderNotTheWholeTail) {
  SimDisk sim;
  io::FaultDisk disk(sim);  // counts the bytes read
  WalConfig config;         // preallocate_bytes: 1 MiB
  auto w = open_writer(config, disk);
  ASSERT_NE(w, nullptr);
  Log log;
  append_n(*w, 10, kRelaxed, log);
  ASSERT_GE(*sim.file_len(segment(1)), config.preallocate_bytes);
  auto reader = open_reader(config, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  auto got = read_to_end(*reader);
  KAYA_ASSERT_OK(got);
  ASSERT_EQ(got->size(), 10u);
  const uint64_t before = disk.bytes_read();
  constexpr int kPolls = 100;
  for (int i = 0; i < kPolls; ++i) {
    auto r = reader->next();
    KAYA_ASSERT_OK(r);
    ASSERT_FALSE(r->has_value());
  }
  EXPECT_LE(disk.bytes_read() - before, uint64_t{kPolls} * format::kHeaderLen)
      << "polls at the zero tail read more than a header each";
  append_n(*w, 5, kRelaxed, log);
  got = read_to_end(*reader);
  KAYA_ASSERT_OK(got);
  ASSERT_EQ(got->size(), 5u);
  for (size_t k = 0; k < 5; ++k) EXPECT_EQ((*got)[k], log.records[10 + k]);
  auto end = reader->next();
  KAYA_ASSERT_OK(end);
  EXPECT_FALSE(end->has_value());
}

TEST(TailingReaderTest, FollowsStrictAppendsAcrossRotations) {
  SimDisk disk;
  follow_concurrent_writer(disk, small_segments(), 2000, false, false);
}

TEST(TailingReaderTest, FollowsMixedAppendsWithIncludeRelaxed) {
  SimDisk disk;
  follow_concurrent_writer(disk, small_segments(), 2000, true, true);
}

TEST(TailingReaderTest, FollowsMixedAppendsDurableOnly) {
  SimDisk disk;
  follow_concurrent_writer(disk, small_segments(), 2000, true, false);
}

TEST(TailingReaderTest, FollowsAWriterOnFileDisk) {
  kaya::testing::TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  WalConfig config;
  config.segment_max_bytes = 4096;
  config.max_record_bytes = 4096;
  follow_concurrent_writer(**disk, config, 1000, true, true);
}

TEST(TailingReaderTest, NeverYieldsARecordBeforeItIsDurable) {
  SimDisk disk;
  FsyncGate gate(disk);
  auto w = open_writer({}, disk);
  Log log;
  append_n(*w, 1, kStrict, log);
  gate.close();
  auto held = std::async(std::launch::async,
                         [&] { return w->append(Payload::put("held", "x"), kStrict); });
  gate.wait_for_held();  // record 2 is written, its fsync is in progress

  auto durable = TailingReader::open(*w, Lsn(1));
  KAYA_ASSERT_OK(durable);
  auto r = (*durable)->next(kLiveness);
  KAYA_ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, log.records[0]);
  r = (*durable)->next(10ms);
  KAYA_ASSERT_OK(r);
  EXPECT_FALSE(r->has_value()) << "yielded a record whose fsync has not completed";
  EXPECT_EQ((*durable)->position(), Lsn(2));

  const Record held_record{Lsn(2), SequenceNumber(2), RecordType::kPut, "held", "x"};
  auto relaxed = TailingReader::open(*w, Lsn(2), TailOptions{.include_relaxed = true});
  KAYA_ASSERT_OK(relaxed);
  r = (*relaxed)->next(kLiveness);
  KAYA_ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, held_record);

  gate.open();
  KAYA_ASSERT_OK(held.get());
  r = (*durable)->next(kLiveness);
  KAYA_ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, held_record);
}

TEST(TailingReaderTest, RelaxedRecordsAreYieldedOnceSynced) {
  SimDisk disk;
  auto w = open_writer({}, disk);
  Log log;
  append_n(*w, 3, kRelaxed, log);
  auto durable = TailingReader::open(*w, Lsn(1));
  KAYA_ASSERT_OK(durable);
  auto r = (*durable)->next(10ms);
  KAYA_ASSERT_OK(r);
  EXPECT_FALSE(r->has_value()) << "yielded a relaxed record before it was synced";

  auto relaxed = TailingReader::open(*w, Lsn(1), TailOptions{.include_relaxed = true});
  KAYA_ASSERT_OK(relaxed);
  for (const Record& want : log.records) {
    r = (*relaxed)->next(kLiveness);
    KAYA_ASSERT_OK(r);
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(**r, want);
  }

  KAYA_ASSERT_OK(w->sync());
  for (const Record& want : log.records) {
    r = (*durable)->next(kLiveness);
    KAYA_ASSERT_OK(r);
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(**r, want);
  }
}

TEST(TailingReaderTest, TimeoutAtTheEndReturnsNothingThenTheNextRecord) {
  SimDisk disk;
  auto w = open_writer(small_segments(), disk);
  auto tailer = TailingReader::open(*w, Lsn(1));  // an empty log
  KAYA_ASSERT_OK(tailer);
  auto r = (*tailer)->next(1ms);
  KAYA_ASSERT_OK(r);
  EXPECT_FALSE(r->has_value());
  Log log;
  append_n(*w, 3, kStrict, log);
  for (const Record& want : log.records) {
    r = (*tailer)->next(kLiveness);
    KAYA_ASSERT_OK(r);
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(**r, want);
  }
  r = (*tailer)->next(0us);
  KAYA_ASSERT_OK(r);
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ((*tailer)->position(), Lsn(4));
}

TEST(TailingReaderTest, OpenRejectsBadPositions) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_writer(config, disk);
  Log log;
  append_n(*w, 30, kStrict, log);
  expect_error(TailingReader::open(*w, Lsn(0)), ErrorKind::kInvalidArgument, {"LSN 0"});
  expect_error(TailingReader::open(*w, Lsn(32)), ErrorKind::kInvalidArgument,
               {"LSN 32 is past the end", "next LSN is 31"});
  KAYA_ASSERT_OK(w->release_before(Lsn(log.first_of(3))));
  expect_error(TailingReader::open(*w, Lsn(1)), ErrorKind::kNotFound,
               {"LSN 1 has been released",
                "the log now starts at LSN " + std::to_string(log.first_of(3))});
  // The writer's next LSN is a valid position: the reader waits there.
  auto at_end = TailingReader::open(*w, Lsn(31));
  KAYA_ASSERT_OK(at_end);
  append_n(*w, 1, kStrict, log);
  auto r = (*at_end)->next(kLiveness);
  KAYA_ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, log.records[30]);
}

TEST(TailingReaderTest, LogOpenedAtAnLsnStartsThere) {
  SimDisk disk;
  auto opened = Writer::open_at({}, disk, Lsn(100), SequenceNumber(7));
  KAYA_ASSERT_OK(opened);
  Writer& w = **opened;
  expect_error(TailingReader::open(w, Lsn(50)), ErrorKind::kNotFound,
               {"LSN 50 is not in the log", "starts at LSN 100"});
  expect_error(TailingReader::open(w, Lsn(101)), ErrorKind::kInvalidArgument,
               {"LSN 101 is past the end", "next LSN is 100"});
  auto tailer = TailingReader::open(w, Lsn(100));
  KAYA_ASSERT_OK(tailer);
  KAYA_ASSERT_OK(w.append(Payload::put("k", "v"), kStrict));
  auto r = (*tailer)->next(kLiveness);
  KAYA_ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, (Record{Lsn(100), SequenceNumber(7), RecordType::kPut, "k", "v"}));
}

TEST(TailingReaderTest, PoisonedWriterFailsTheWaitingReader) {
  SimDisk disk;
  auto w = open_writer({}, disk);
  auto tailer = TailingReader::open(*w, Lsn(1));
  KAYA_ASSERT_OK(tailer);
  // Whether the reader is already waiting when the fsync fails or starts waiting
  // after, it must get the error rather than wait out its timeout.
  auto waiting =
      std::async(std::launch::async, [&] { return (*tailer)->next(kLiveness); });
  disk.fail_nth(FaultKind::kFsyncFailure, 1);
  expect_error(w->append(Payload::put("k", "v"), kStrict), ErrorKind::kFsyncFailed, {});
  ASSERT_EQ(waiting.wait_for(kLiveness * 2), std::future_status::ready);
  expect_error(waiting.get(), ErrorKind::kFsyncFailed, {"poisoned"});
  expect_error((*tailer)->next(1ms), ErrorKind::kFsyncFailed, {"poisoned"});
}

// range-for over a TailingReader: the visible records, ending when none comes within
// the timeout (no error); after the writer closed, the range ends with its error.
TEST(TailingReaderTest, RangeForYieldsWhatBecomesVisibleAndEndsAtTheTimeout) {
  SimDisk disk;
  auto w = open_writer(small_segments(), disk);
  Log log;
  append_n(*w, 30, kStrict, log);
  auto tailer = TailingReader::open(*w, Lsn(1));
  KAYA_ASSERT_OK(tailer);
  std::vector<Record> got;
  for (const Record& r : (*tailer)->records(1ms)) got.push_back(r);
  EXPECT_FALSE((*tailer)->error().has_value());
  EXPECT_EQ(got, log.records);

  append_n(*w, 5, kStrict, log);
  KAYA_ASSERT_OK(w->close());
  got.clear();
  for (const Record& r : (*tailer)->records(kLiveness)) got.push_back(r);
  EXPECT_EQ(got, log.from(31));
  ASSERT_TRUE((*tailer)->error().has_value());
  EXPECT_EQ((*tailer)->error()->kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE((*tailer)->error()->message().find("closed"), std::string::npos);
}

TEST(TailingReaderTest, ClosedWriterFailsTheReaderAfterTheLastRecord) {
  SimDisk disk;
  auto w = open_writer({}, disk);
  Log log;
  append_n(*w, 2, kStrict, log);
  auto tailer = TailingReader::open(*w, Lsn(1));
  KAYA_ASSERT_OK(tailer);
  KAYA_ASSERT_OK(w->close());
  for (const Record& want : log.records) {
    auto r = (*tailer)->next(kLiveness);
    KAYA_ASSERT_OK(r);
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(**r, want);
  }
  expect_error((*tailer)->next(kLiveness), ErrorKind::kInvalidArgument,
               {"closed", "LSN 3"});
}

TEST(TailingReaderTest, ClosingTheWriterWakesAWaitingReader) {
  SimDisk disk;
  auto w = open_writer({}, disk);
  auto tailer = TailingReader::open(*w, Lsn(1));
  KAYA_ASSERT_OK(tailer);
  auto waiting =
      std::async(std::launch::async, [&] { return (*tailer)->next(kLiveness); });
  // Not a timing assertion: the pause only makes it likely that the reader is
  // already waiting (the case that needs a wake-up); the outcome must be the same.
  std::this_thread::sleep_for(50ms);
  KAYA_ASSERT_OK(w->close());
  ASSERT_EQ(waiting.wait_for(kLiveness * 2), std::future_status::ready);
  expect_error(waiting.get(), ErrorKind::kInvalidArgument, {"closed"});
}

// ---------------------------------------------------------------------------------
// release_before

std::vector<uint64_t> segment_ids(io::Disk& disk) {
  auto ids = list_segments(disk);
  EXPECT_TRUE(ids.ok()) << ids.error().to_string();
  return ids.ok() ? *ids : std::vector<uint64_t>();
}

uint64_t file_bytes(io::Disk& disk, uint64_t id) {
  auto len = disk.file_len(segment(id));
  EXPECT_TRUE(len.ok()) << len.error().to_string();
  return len.ok() ? *len : 0;
}

TEST(ReleaseTest, RemovesExactlyTheSegmentsBelowTheLsn) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_writer(config, disk);
  Log log;
  append_n(*w, 60, kStrict, log);
  const uint64_t active = w->stats().active_segment_id;
  ASSERT_EQ(active, log.segments.rbegin()->first);
  uint64_t removed_total = 0;
  uint64_t bytes_total = 0;
  // Mid-segment LSNs keep their segment; a segment's first LSN frees the one before.
  for (uint64_t id : {uint64_t{3}, uint64_t{4}, uint64_t{9}}) {
    for (uint64_t lsn : {log.first_of(id) - 1, log.first_of(id)}) {
      SCOPED_TRACE("release_before(" + std::to_string(lsn) + ")");
      const uint64_t keep_from = lsn == log.first_of(id) ? id : id - 1;
      const std::vector<uint64_t> before = segment_ids(disk);
      uint64_t bytes = 0;
      for (uint64_t s : before) bytes += s < keep_from ? file_bytes(disk, s) : 0;
      auto report = w->release_before(Lsn(lsn));
      KAYA_ASSERT_OK(report);
      const std::vector<uint64_t> after = segment_ids(disk);
      ASSERT_FALSE(after.empty());
      EXPECT_EQ(after.front(), keep_from);
      EXPECT_EQ(after.back(), active);
      EXPECT_EQ(report->segments_removed, before.size() - after.size());
      EXPECT_EQ(report->bytes_released, bytes);
      EXPECT_EQ(report->first_lsn_kept, Lsn(log.first_of(keep_from)));
      EXPECT_NE(report->stopped_because.find("segment " + std::to_string(keep_from)),
                std::string::npos)
          << report->stopped_because;
      removed_total += report->segments_removed;
      bytes_total += report->bytes_released;
    }
  }
  EXPECT_EQ(w->stats().segments_released, removed_total);
  EXPECT_EQ(w->stats().bytes_released, bytes_total);
  EXPECT_EQ(removed_total, 8u);
}

TEST(ReleaseTest, ReleasingNothingOrBeyondTheEndIsSafe) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_writer(config, disk);
  Log log;
  append_n(*w, 40, kStrict, log);
  const std::vector<uint64_t> all = segment_ids(disk);

  auto nothing = w->release_before(Lsn(1));
  KAYA_ASSERT_OK(nothing);
  EXPECT_EQ(nothing->segments_removed, 0u);
  EXPECT_EQ(nothing->bytes_released, 0u);
  EXPECT_EQ(nothing->first_lsn_kept, Lsn(1));
  EXPECT_EQ(segment_ids(disk), all);

  // Far beyond the end: everything but the active segment goes.
  auto beyond = w->release_before(Lsn(1'000'000));
  KAYA_ASSERT_OK(beyond);
  const uint64_t active = w->stats().active_segment_id;
  EXPECT_EQ(segment_ids(disk), std::vector<uint64_t>{active});
  EXPECT_EQ(beyond->segments_removed, all.size() - 1);
  EXPECT_EQ(beyond->first_lsn_kept, Lsn(log.first_of(active)));
  EXPECT_NE(beyond->stopped_because.find("active segment"), std::string::npos)
      << beyond->stopped_because;
  auto again = w->release_before(Lsn(1'000'000));
  KAYA_ASSERT_OK(again);
  EXPECT_EQ(again->segments_removed, 0u);

  // The log stays a log: recovery sees it start at the kept LSN, the writer goes on.
  append_n(*w, 20, kStrict, log);
  auto contents = read_log(disk, config);
  KAYA_ASSERT_OK(contents);
  EXPECT_TRUE(contents->report.anomalies.empty()) << contents->report.to_string();
  EXPECT_EQ(contents->report.first_lsn, Lsn(log.first_of(active)));
  EXPECT_EQ(contents->records, log.from(log.first_of(active)));
  EXPECT_EQ(w->stats().segments_released, all.size() - 1);
}

TEST(ReleaseTest, CrashAfterReleaseRecoversWithoutAHole) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_writer(config, disk);
  Log log;
  append_n(*w, 50, kStrict, log);
  auto report = w->release_before(Lsn(log.first_of(6)));
  KAYA_ASSERT_OK(report);
  crash_with_writer(disk, w);

  auto contents = read_log(disk, config);
  KAYA_ASSERT_OK(contents);
  EXPECT_TRUE(contents->report.anomalies.empty()) << contents->report.to_string();
  EXPECT_EQ(contents->report.first_lsn, report->first_lsn_kept);
  EXPECT_EQ(contents->records, log.from(log.first_of(6)));
  // The writer continues after the last record.
  w = open_writer(config, disk);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->next_lsn(), Lsn(51));
}

TEST(ReleaseTest, FailedDirectorySyncLeavesAContiguousLogAfterACrash) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_writer(config, disk);
  Log log;
  append_n(*w, 50, kStrict, log);
  // The second removal's directory sync fails: segment 1 is gone for good, the
  // removal of segment 2 is not durable. (The first fsync of a release is the
  // recovery point's, brought up to the durable end before anything is removed.)
  disk.fail_nth(FaultKind::kFsyncFailure, 3);
  expect_error(w->release_before(Lsn(log.first_of(6))), ErrorKind::kFsyncFailed, {});
  crash_with_writer(disk, w);

  auto contents = read_log(disk, config);
  KAYA_ASSERT_OK(contents);
  EXPECT_TRUE(contents->report.anomalies.empty()) << contents->report.to_string();
  ASSERT_FALSE(contents->records.empty());
  const uint64_t first = contents->records.front().lsn.value();
  EXPECT_EQ(first, log.first_of(2));
  EXPECT_EQ(contents->records, log.from(first));
}

TEST(ReleaseTest, ReaderInAReleasedSegmentStopsWithNotFound) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_writer(config, disk);
  Log log;
  append_n(*w, 50, kStrict, log);
  auto reader = open_reader(config, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  auto first = reader->next();
  KAYA_ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  KAYA_ASSERT_OK(w->release_before(Lsn(log.first_of(4))));

  // Whatever the reader still yields is right; it cannot reach segment 4 without
  // segments 2 and 3, so it ends with NotFound, not with a wrong record or the end.
  uint64_t next = 2;
  Result<std::optional<Record>> r = std::optional<Record>();
  while ((r = reader->next()).ok() && r->has_value()) {
    ASSERT_LT(next, log.first_of(2)) << "read past the released segment 1";
    EXPECT_EQ(**r, log.records[next - 1]);
    ++next;
  }
  expect_error(r, ErrorKind::kNotFound,
               {"was released while being read", "next LSN " + std::to_string(next)});
}

// A reader met the end of segment 1 (its last read found no more bytes); before it
// asks whether segment 2 exists, a release removes segments 1 to 3. Segment 2 missing
// does not make segment 1 the end of the log: the reader says its segment was
// released, instead of reporting the end of the log early.
TEST(ReleaseTest, ReaderAtTheEndOfASegmentReleasedWithTheNextOneStopsWithNotFound) {
  SimDisk base;
  InterposingDisk disk(base);
  const WalConfig config = small_segments();
  auto w = open_writer(config, base);
  Log log;
  append_n(*w, 50, kStrict, log);
  auto reader = open_reader(config, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  for (uint64_t lsn = 1; lsn <= log.last_of(1); ++lsn) {
    auto r = reader->next();
    KAYA_ASSERT_OK(r);
    ASSERT_TRUE(r->has_value());
  }
  bool fired = false;
  disk.before_file_len = [&](const io::RelativePath& p) {
    if (fired || p != segment(2)) return;
    fired = true;
    ASSERT_TRUE(w->release_before(Lsn(log.first_of(4))).ok());
  };
  expect_error(
      reader->next(), ErrorKind::kNotFound,
      {"was released while being read", "next LSN " + std::to_string(log.first_of(2))});
  EXPECT_TRUE(fired);
}

TEST(ReleaseTest, ReaderThatFinishedAReleasedSegmentGoesOn) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_writer(config, disk);
  Log log;
  append_n(*w, 30, kStrict, log);
  auto reader = open_reader(config, disk, Lsn(1));
  ASSERT_NE(reader, nullptr);
  for (uint64_t lsn = 1; lsn <= log.last_of(1); ++lsn) {
    auto r = reader->next();
    KAYA_ASSERT_OK(r);
    ASSERT_TRUE(r->has_value());
  }
  // Segment 1 goes while the reader is at its end: the first LSN of segment 2
  // proves that nothing was missed.
  KAYA_ASSERT_OK(w->release_before(Lsn(log.first_of(2))));
  auto rest = read_to_end(*reader);
  KAYA_ASSERT_OK(rest);
  EXPECT_EQ(*rest, log.from(log.first_of(2)));
}

TEST(ReleaseTest, TailingReaderKeepsFollowingWhileOldSegmentsAreReleased) {
  SimDisk disk;
  const WalConfig config = small_segments();
  auto w = open_writer(config, disk);
  ASSERT_NE(w, nullptr);
  auto tailer = TailingReader::open(*w, Lsn(1));
  KAYA_ASSERT_OK(tailer);
  constexpr uint64_t kRecords = 1500;
  std::atomic<uint64_t> tailer_position{1};
  Log log;
  std::thread writer_thread([&] {
    for (uint64_t i = 0; i < kRecords; ++i) {
      auto r = append_one(*w, i, kStrict, log);
      if (!r.ok()) {
        ADD_FAILURE() << r.error().to_string();
        return;
      }
      // A checkpoint up to what the reader has consumed.
      if (i % 20 == 0) {
        auto released = w->release_before(Lsn(tailer_position.load()));
        if (!released.ok()) ADD_FAILURE() << released.error().to_string();
      }
    }
  });
  std::vector<Record> received;
  const auto guard = std::chrono::steady_clock::now() + kLiveness;
  while (received.size() < kRecords && std::chrono::steady_clock::now() < guard) {
    auto r = (*tailer)->next(100ms);
    if (!r.ok()) {
      ADD_FAILURE() << r.error().to_string();
      break;
    }
    if (r->has_value()) received.push_back(std::move(**r));
    tailer_position.store((*tailer)->position().value());
  }
  writer_thread.join();
  ASSERT_EQ(received.size(), kRecords) << "the liveness guard passed";
  EXPECT_EQ(received, log.records);
  EXPECT_GT(w->stats().segments_released, 10u);
}

}  // namespace
}  // namespace kaya::wal
