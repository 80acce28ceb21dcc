// Following a live writer: a LogReader that keeps reading after the end (a writer of
// another process), and TailingReader (records as they become durable, waits with a
// timeout, a poisoned or closed writer).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/fault_disk.h"
#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/reader_test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using namespace reader_testing;  // NOLINT(google-build-using-namespace)
using io::FaultKind;
using io::SimDisk;
using testing::FsyncGate;
using testing::segment;
using testing::small_segments;
using namespace std::chrono_literals;

// A writer thread appends `n` records while the test thread follows them.
void follow_concurrent_writer(io::Disk& disk, const WalConfig& config, uint64_t n,
                              bool mixed_modes, bool include_relaxed) {
  auto w = open_or_die(config, disk);
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
  auto w = open_or_die(config, **writer_disk);
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

// A reader polling at the end of a segment with preallocated space (zeros to the end of
// the file) checks those zeros once, then reads only a header per poll until records
// arrive; what arrives is read as usual.
TEST(LogReaderTest, PollingAtAPreallocatedTailReadsAHeaderNotTheWholeTail) {
  SimDisk sim;
  io::FaultDisk disk(sim);  // counts the bytes read
  WalConfig config;         // preallocate_bytes: 1 MiB
  auto w = open_or_die(config, disk);
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
  auto w = open_or_die({}, disk);
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
  auto w = open_or_die({}, disk);
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
  auto w = open_or_die(small_segments(), disk);
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
  auto w = open_or_die(config, disk);
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
  auto w = open_or_die({}, disk);
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
  auto w = open_or_die(small_segments(), disk);
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
  auto w = open_or_die({}, disk);
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
  auto w = open_or_die({}, disk);
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

}  // namespace
}  // namespace kaya::wal
