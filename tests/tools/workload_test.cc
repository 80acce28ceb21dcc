// The workload engine of both benchmark harnesses (tools/workload): each quota makes
// exactly the appends it promises, a failure or a stop ends the run for every thread,
// and the appenders make what they say (Put records of the exact size, a file of the
// records back to back). No timing assertions: only counts and contents.
#include "workload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "appenders.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"

namespace kaya::workload {
namespace {

using kaya::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Workload, SplitGivesEachThreadItsShareInOrder) {
  std::mutex mu;
  std::map<int, std::vector<uint64_t>> seen;  // thread -> indices, in call order
  Result<Throughput> r = run({.threads = 3, .quota = Quota::kSplit, .records = 10},
                             [&](int thread, uint64_t index) {
                               std::lock_guard<std::mutex> lock(mu);
                               seen[thread].push_back(index);
                               return ok_status();
                             });
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->records, 10u);
  EXPECT_EQ(r->latency_us.count(), 10u);
  EXPECT_THAT(seen[0], ElementsAre(0, 1, 2, 3));  // 10 % 3: the first takes one more
  EXPECT_THAT(seen[1], ElementsAre(0, 1, 2));
  EXPECT_THAT(seen[2], ElementsAre(0, 1, 2));
}

TEST(Workload, SharedMakesExactlyTheCountAndCountsProgress) {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> done{0};
  Result<Throughput> r =
      run({.threads = 4, .quota = Quota::kShared, .records = 1000, .done = &done},
          [&](int, uint64_t) {
            calls.fetch_add(1);
            return ok_status();
          });
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->records, 1000u);
  EXPECT_EQ(calls.load(), 1000u);
  EXPECT_EQ(done.load(), 1000u);
  EXPECT_EQ(r->latency_us.count(), 1000u);
}

TEST(Workload, TimeCountsEveryAppendMade) {
  std::atomic<uint64_t> calls{0};
  Result<Throughput> r =
      run({.threads = 2, .quota = Quota::kTime, .seconds = 0.02}, [&](int, uint64_t) {
        calls.fetch_add(1);
        return ok_status();
      });
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GT(r->records, 0u);
  EXPECT_EQ(r->records, calls.load());
  EXPECT_GT(r->seconds, 0);
}

// A failure stops every thread, also in a run by time that would last ten minutes,
// and its error comes back.
TEST(Workload, FirstErrorStopsEveryThreadAndIsReturned) {
  for (const Quota quota : {Quota::kSplit, Quota::kShared, Quota::kTime}) {
    Result<Throughput> r =
        run({.threads = 4, .quota = quota, .records = uint64_t{1} << 40, .seconds = 600},
            [&](int thread, uint64_t index) -> Status {
              if (thread == 1 && index == 5) {
                return Error(ErrorKind::kDiskFull, "no room at 5");
              }
              return ok_status();
            });
    ASSERT_FALSE(r.ok()) << "quota " << static_cast<int>(quota);
    EXPECT_EQ(r.error().kind(), ErrorKind::kDiskFull);
    EXPECT_EQ(r.error().message(), "no room at 5");
  }
}

TEST(Workload, StopEndsTheRunWithTheAppendsMade) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0};
  Result<Throughput> r = run(
      {.threads = 3, .quota = Quota::kSplit, .records = uint64_t{1} << 40, .stop = &stop},
      [&](int, uint64_t) {
        if (calls.fetch_add(1) + 1 == 100) stop = true;
        return ok_status();
      });
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(r->records, 100u);
  EXPECT_EQ(r->records, calls.load());
}

TEST(Workload, NoThreadIsAnError) {
  Result<Throughput> r = run({.threads = 0}, [](int, uint64_t) { return ok_status(); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(Workload, SlicesAddUp) {
  Throughput total;
  Throughput slice;
  slice.seconds = 0.5;
  slice.records = 10;
  slice.latency_us.record(7);
  total.add(slice);
  total.add(slice);
  EXPECT_EQ(total.records, 20u);
  EXPECT_DOUBLE_EQ(total.seconds, 1.0);
  EXPECT_EQ(total.latency_us.count(), 2u);
  EXPECT_DOUBLE_EQ(total.per_s(), 20.0);
}

TEST(PutRecords, HaveTheExactEncodedSizeAndTheirKeys) {
  std::string key;
  for (const uint64_t size : {48u, 50u, 64u, 65u, 128u, 4096u}) {
    const PutRecords named(size, PutRecords::Keys::kNamed);
    EXPECT_EQ(named.payload(3, 42, key).encoded_len(), size) << size;
    const PutRecords none(size, PutRecords::Keys::kNone);
    EXPECT_EQ(none.payload(3, 42, key).encoded_len(), size) << size;
    EXPECT_EQ(none.payload(3, 42, key).key, "");
  }
  EXPECT_EQ(PutRecords(128, PutRecords::Keys::kNamed).payload(3, 42, key).key,
            "t0003-0000000042");
  EXPECT_EQ(PutRecords(50, PutRecords::Keys::kNamed).payload(3, 42, key).key, "t0");
  EXPECT_EQ(PutRecords(48, PutRecords::Keys::kNamed).payload(3, 42, key).key, "");
}

// Through a Writer: the log holds every thread's records, each key once.
TEST(PutRecords, AppendThroughAWriter) {
  TempDir tmp(kaya::testing::memory_temp_base());
  auto disk = io::FileDisk::open(tmp.path());
  ASSERT_TRUE(disk.ok()) << disk.error().to_string();
  {
    auto writer = wal::Writer::open(wal::WalConfig{}, **disk);
    ASSERT_TRUE(writer.ok()) << writer.error().to_string();
    const PutRecords records(100, PutRecords::Keys::kNamed);
    Result<Throughput> r = run(
        {.threads = 2, .quota = Quota::kSplit, .records = 20},
        [&](int thread, uint64_t index) {
          return records.append(**writer, wal::DurabilityMode::kStrict, thread, index);
        });
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ((*writer)->stats().bytes, 20u * 100u);
    ASSERT_TRUE((*writer)->close().ok());
  }
  auto reader = wal::LogReader::open(wal::WalConfig{}, **disk, Lsn(1));
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  std::set<std::string> keys;
  for (;;) {
    Result<std::optional<wal::Record>> record = (*reader)->next();
    ASSERT_TRUE(record.ok()) << record.error().to_string();
    if (!record->has_value()) break;
    keys.insert((*record)->key);
  }
  ASSERT_EQ(keys.size(), 20u);
  EXPECT_EQ(*keys.begin(), "t0000-0000000000");
  EXPECT_EQ(*keys.rbegin(), "t0001-0000000009");
}

TEST(SharedFile, HoldsEveryRecordBackToBackAndIsRemoved) {
  TempDir tmp(kaya::testing::memory_temp_base());
  const std::string path = tmp.path() + "/shared.dat";
  auto file = SharedFile::create(path);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  std::vector<std::vector<uint8_t>> records;
  for (int t = 0; t < 4; ++t) records.emplace_back(64, static_cast<uint8_t>('a' + t));
  Result<Throughput> r =
      run({.threads = 4, .quota = Quota::kSplit, .records = 100}, [&](int t, uint64_t) {
        return (*file)->append(records[static_cast<size_t>(t)], t == 0);
      });
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(std::filesystem::file_size(path), 100u * 64u);
  file->reset();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(SharedFile, CreateInAMissingDirectoryNamesIt) {
  TempDir tmp;
  const std::string path = tmp.path() + "/missing/shared.dat";
  auto file = SharedFile::create(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().kind(), ErrorKind::kNotFound);
  EXPECT_THAT(file.error().message(), HasSubstr("open " + path + ": "));
}

TEST(OsError, KindFollowsErrno) {
  EXPECT_EQ(os_error("pwrite", "/x", ENOSPC).kind(), ErrorKind::kDiskFull);
  EXPECT_EQ(os_error("pwrite", "/x", EDQUOT).kind(), ErrorKind::kDiskFull);
  EXPECT_EQ(os_error("open", "/x", ENOENT).kind(), ErrorKind::kNotFound);
  EXPECT_EQ(os_error("fdatasync", "/x", EIO).kind(), ErrorKind::kIo);
  std::string expected = "fdatasync /x: ";
  expected += std::strerror(EIO);
  EXPECT_EQ(os_error("fdatasync", "/x", EIO).message(), expected);
}

}  // namespace
}  // namespace kaya::workload
