// Out of memory in recovery, the readers and inspection: each fails cleanly with an
// error (never an exception), and a record too large for memory is named. Runs in
// writer_oom_test's executable, which replaces the global operator new
// (oom_test_util.h).
#include <gtest/gtest.h>

#include <string>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/inspect.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/failing_allocator.h"
#include "testing/test_util.h"
#include "wal/oom_test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using kaya::testing::allocation_failed;
using kaya::testing::fail_allocations_above;
using namespace oom_testing;  // NOLINT(google-build-using-namespace)

// A log of small records and large ones over three segments, the last record torn.
struct DamagedLog {
  io::SimDisk disk;
  WalConfig config;
  uint64_t records = 0;  // intact ones
};

void build(DamagedLog& log) {
  log.config.segment_max_bytes = 512 << 10;
  log.config.max_record_bytes = 256 << 10;
  auto w = Writer::open(log.config, log.disk);
  KAYA_ASSERT_OK(w);
  for (int i = 0; i < 12; ++i) {
    const bool big = i % 4 == 1;
    KAYA_ASSERT_OK((*w)->append(
        Payload::put("key" + std::to_string(i), big ? big_value() : std::string("v")),
        i % 3 ? kRelaxed : kStrict));
  }
  KAYA_ASSERT_OK((*w)->close());
  w->reset();
  // A torn tail beyond the recovery point: the next record, cut short.
  const auto ids = list_segments(log.disk);
  KAYA_ASSERT_OK(ids);
  auto next = encode(Payload::put("key12", "torn"), Lsn(13), SequenceNumber(13));
  KAYA_ASSERT_OK(next);
  next->resize(next->size() - 3);
  KAYA_ASSERT_OK(log.disk.append(testing::segment(ids->back()), *next));
  log.records = 12;
}

// Runs `call` with the n-th allocation failing, for n = 0, 1, ... until it needs fewer;
// `check(result)` judges each outcome while disarmed.
template <typename Call, typename Check>
void sweep(const char* what, Call&& call, Check&& check) {
  SCOPED_TRACE(what);
  long n = 0;
  int failures = 0;
  for (; n < kMaxSweep; ++n) {
    arm(n, false);
    auto r = call();
    disarm();
    const bool fired = allocation_failed();
    if (!r.ok()) {
      ++failures;
      ASSERT_TRUE(fired) << what << ": " << r.error().to_string();
      ASSERT_EQ(r.error().kind(), ErrorKind::kInternal)
          << "allocation " << n << ": " << r.error().to_string();
    }
    check(r);
    if (r.ok() && !fired) break;
  }
  EXPECT_LT(n, kMaxSweep);
  EXPECT_GT(failures, 3);
}

TEST(ReadOutOfMemoryTest, RecoveryReadersAndInspectionFailCleanly) {
  DamagedLog log;
  build(log);
  if (::testing::Test::HasFatalFailure()) return;
  std::vector<Record> records;
  sweep(
      "dry-run recovery",
      [&] {
        records.clear();
        RecoveryOptions options;
        options.dry_run = true;
        return recover(log.config, log.disk, options,
                       [&](uint64_t, uint64_t, const RecordView& r) -> Status {
                         records.push_back(r.to_record());
                         return ok_status();
                       });
      },
      [&](const Result<RecoveryReport>& r) {
        if (r.ok()) {
          EXPECT_EQ(r->records, log.records);
          EXPECT_EQ(r->anomalies.size(), 1u);
        }
      });
  ASSERT_EQ(records.size(), log.records);
  sweep(
      "LogReader",
      [&]() -> Result<uint64_t> {
        KAYA_ASSIGN_OR_RETURN(auto reader, LogReader::open(log.config, log.disk, Lsn(1)));
        uint64_t read = 0;
        for (;;) {
          KAYA_ASSIGN_OR_RETURN(std::optional<Record> r, reader->next());
          if (!r) return read;
          if (r->lsn.value() != read + 1) {
            return Error(ErrorKind::kInvariantViolation, "out of order");
          }
          ++read;
        }
      },
      [&](const Result<uint64_t>& r) {
        if (r.ok()) {
          EXPECT_EQ(*r, log.records);
        }
      });
  sweep(
      "inspect_log", [&] { return inspect_log(log.config, log.disk); },
      [&](const Result<LogInspection>& r) {
        if (r.ok()) {
          EXPECT_TRUE(r->torn_tail());
        }
      });
}

// Open repairs the torn tail: failing at any allocation leaves a log that the next
// open (with memory) repairs the same way.
TEST(ReadOutOfMemoryTest, OpenFailsCleanlyAndTheNextOpenRepairs) {
  long n = 0;
  int failures = 0;
  for (; n < kMaxSweep; ++n) {
    DamagedLog log;
    build(log);
    if (::testing::Test::HasFatalFailure()) return;
    arm(n, false);
    auto w = Writer::open(log.config, log.disk);
    disarm();
    const bool fired = allocation_failed();
    if (!w.ok()) {
      ++failures;
      ASSERT_EQ(w.error().kind(), ErrorKind::kInternal)
          << "allocation " << n << ": " << w.error().to_string();
      w = Writer::open(log.config, log.disk);
      KAYA_ASSERT_OK(w);
    }
    EXPECT_EQ((*w)->next_lsn().value(), log.records + 1) << "allocation " << n;
    auto r = (*w)->append(Payload::put("k", "v"), kStrict);
    KAYA_ASSERT_OK(r);
    EXPECT_EQ(r->lsn.value(), log.records + 1);
    KAYA_ASSERT_OK((*w)->close());
    if (w.ok() && !fired) break;
  }
  EXPECT_LT(n, kMaxSweep);
  EXPECT_GT(failures, 10);
}

// A record larger than the memory there is: readers and recovery say which record,
// where and how large; an append of one is refused without taking an LSN.
// The reader holds the record in its buffer but the copy it returns does not fit: the
// error names the record; a new reader reads it once memory is back.
TEST(ReadOutOfMemoryTest, ACopyForTheCallerThatDoesNotFitNamesTheRecord) {
  io::SimDisk disk;
  WalConfig config;
  const std::string huge(1 << 20, 'h');
  {
    auto w = Writer::open(config, disk);
    KAYA_ASSERT_OK(w);
    KAYA_ASSERT_OK((*w)->append(Payload::put("first", huge), kStrict));
    KAYA_ASSERT_OK((*w)->append(Payload::put("second", huge), kStrict));
    KAYA_ASSERT_OK((*w)->close());
  }
  auto reader = LogReader::open(config, disk, Lsn(1));
  KAYA_ASSERT_OK(reader);
  // The first read grows the reader's buffer to a record; the second record, the same
  // size, is read into that buffer and only its copy needs a large allocation.
  auto first = (*reader)->next();
  KAYA_ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  fail_allocations_above(768 << 10);
  auto second = (*reader)->next();
  fail_allocations_above(0);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind(), ErrorKind::kInternal);
  EXPECT_NE(second.error().message().find(
                "out of memory copying the record with LSN 2 (" +
                std::to_string(6 + huge.size()) + " bytes of key and value)"),
            std::string::npos)
      << second.error().to_string();
  EXPECT_NE(second.error().message().find("wal/0000000000000001.wal"), std::string::npos)
      << second.error().to_string();
  auto again = LogReader::open(config, disk, Lsn(2));
  KAYA_ASSERT_OK(again);
  auto read = (*again)->next();
  KAYA_ASSERT_OK(read);
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->lsn, Lsn(2));
  EXPECT_EQ((*read)->value, huge);
}

TEST(ReadOutOfMemoryTest, ARecordTooLargeForMemoryIsAnErrorNamingIt) {
  io::SimDisk disk;
  WalConfig config;
  const std::string huge(1 << 20, 'h');
  {
    auto w = Writer::open(config, disk);
    KAYA_ASSERT_OK(w);
    KAYA_ASSERT_OK((*w)->append(Payload::put("a", "1"), kStrict));
    KAYA_ASSERT_OK((*w)->append(Payload::put("huge", huge), kStrict));
    KAYA_ASSERT_OK((*w)->append(Payload::put("b", "2"), kStrict));
    KAYA_ASSERT_OK((*w)->close());
  }
  const uint64_t huge_bytes = Payload::put("huge", huge).encoded_len();
  auto expect_named = [&](const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal) << e.to_string();
    for (const std::string& part :
         {std::string("out of memory reading ") + std::to_string(huge_bytes) + " bytes",
          std::string("LSN 2"), std::string("at offset 50"),
          std::string("wal/0000000000000001.wal")}) {
      EXPECT_NE(e.message().find(part), std::string::npos)
          << "no \"" << part << "\" in: " << e.message();
    }
  };
  fail_allocations_above(768 << 10);
  RecoveryOptions full;
  full.full_scan = true;
  full.dry_run = true;
  auto recovered = recover(config, disk, full);
  auto reader = LogReader::open(config, disk, Lsn(2));
  auto inspected = inspect_log(config, disk);
  fail_allocations_above(0);
  ASSERT_FALSE(recovered.ok());
  expect_named(recovered.error());
  ASSERT_FALSE(reader.ok());
  expect_named(reader.error());
  ASSERT_FALSE(inspected.ok());
  expect_named(inspected.error());

  // The writer: refused before an LSN is taken; the next record gets the next LSN.
  auto w = Writer::open(config, disk);
  KAYA_ASSERT_OK(w);
  fail_allocations_above(768 << 10);
  auto refused = (*w)->append(Payload::put("huge", huge), kStrict);
  fail_allocations_above(0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kInternal);
  EXPECT_NE(refused.error().message().find("out of memory encoding a record of " +
                                           std::to_string(huge_bytes) + " bytes"),
            std::string::npos)
      << refused.error().to_string();
  EXPECT_FALSE((*w)->stats().poisoned);
  auto next = (*w)->append(Payload::put("c", "3"), kStrict);
  KAYA_ASSERT_OK(next);
  EXPECT_EQ(next->lsn, Lsn(4));
  KAYA_ASSERT_OK((*w)->close());
  expect_contiguous(disk, config, {1, 2, 3, 4});
}

}  // namespace
}  // namespace kaya::wal
