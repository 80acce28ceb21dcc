// The readers' views allocate nothing per record: LogReader, ranges of views and
// TailingReader, counted by the global operator new this executable replaces
// (testing/failing_allocator.cc).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/writer.h"
#include "testing/failing_allocator.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"
#include "wal/writer_test_util.h"

namespace kaya::wal {
namespace {

using io::SimDisk;
using kaya::testing::cat;
using testing::kStrict;
using testing::open_or_die;
using namespace std::chrono_literals;
using testing::segment;

// Allocations made by this thread while `read_one` reads `n` records, after a warm-up
// of 8 records on the same reader. `read_one` returns false when no record came. No
// gtest macro runs while counting (they may allocate).
template <typename ReadOne>
long allocations_reading(uint64_t n, ReadOne&& read_one) {
  for (int i = 0; i < 8; ++i) {
    if (!read_one()) {
      ADD_FAILURE() << "the warm-up found no record";
      return -1;
    }
  }
  bool all = true;
  const long before = kaya::testing::allocations_made();
  for (uint64_t i = 0; i < n && all; ++i) all = read_one();
  const long made = kaya::testing::allocations_made() - before;
  EXPECT_TRUE(all) << "fewer than " << n << " records";
  return made;
}

constexpr uint64_t kFewRecords = 100;

constexpr uint64_t kManyRecords = 3000;

// The allocations of reading kFewRecords and of reading kManyRecords, each with a new
// reader: `start()` opens one and returns the function that reads a record with it.
// Equal, and none: nothing is allocated per record.
void expect_no_allocation_per_record(
    const std::function<std::function<bool()>()>& start) {
  const long few = allocations_reading(kFewRecords, start());
  const long many = allocations_reading(kManyRecords, start());
  EXPECT_EQ(few, many) << "allocations grow with the records read: " << few << " for "
                       << kFewRecords << " records, " << many << " for " << kManyRecords;
  EXPECT_EQ(many, 0);
}

// A log of kManyRecords + 20 puts of about 150 bytes in one segment (well within one
// read buffer), and its writer (closed unless `keep_open`).
std::unique_ptr<Writer> small_record_log(SimDisk& disk, bool keep_open) {
  auto w = open_or_die({}, disk);
  if (w == nullptr) return nullptr;
  const std::string value(128, 'v');
  for (uint64_t i = 0; i < kManyRecords + 20; ++i) {
    auto ack = w->append(Payload::put(cat("key-", std::to_string(i)), value), kStrict);
    EXPECT_TRUE(ack.ok()) << ack.error().to_string();
    if (!ack.ok()) return nullptr;
  }
  if (!keep_open) {
    EXPECT_TRUE(w->close().ok());
  }
  return w;
}

TEST(RecordViewAllocationTest, LogReaderViewsAllocateNothingPerRecord) {
  SimDisk disk;
  ASSERT_NE(small_record_log(disk, false), nullptr);
  uint64_t value_bytes = 0;  // so that the reads are used
  expect_no_allocation_per_record([&]() -> std::function<bool()> {
    std::shared_ptr<LogReader> reader = LogReader::open({}, disk, Lsn(1)).value();
    return [&value_bytes, reader] {
      auto r = reader->next_view();
      if (!r.ok() || !r->has_value()) return false;
      value_bytes += (*r)->value.size();
      return true;
    };
  });
  EXPECT_GT(value_bytes, 0u);
}

TEST(RecordViewAllocationTest, RangesOfViewsAllocateNothingPerRecord) {
  SimDisk disk;
  ASSERT_NE(small_record_log(disk, false), nullptr);
  uint64_t value_bytes = 0;
  expect_no_allocation_per_record([&]() -> std::function<bool()> {
    std::shared_ptr<LogReader> reader = LogReader::open({}, disk, Lsn(1)).value();
    // begin() reads the first record (part of the warm-up).
    auto it = std::make_shared<decltype(reader->record_views().begin())>(
        reader->record_views().begin());
    return [&value_bytes, reader, it] {
      if (*it == std::default_sentinel) return false;
      value_bytes += (*it)->value.size();
      ++*it;
      return true;
    };
  });
  EXPECT_GT(value_bytes, 0u);
}

TEST(RecordViewAllocationTest, TailingReaderViewsAllocateNothingPerRecord) {
  SimDisk disk;
  std::unique_ptr<Writer> w = small_record_log(disk, true);
  ASSERT_NE(w, nullptr);
  uint64_t value_bytes = 0;
  expect_no_allocation_per_record([&]() -> std::function<bool()> {
    std::shared_ptr<TailingReader> reader = TailingReader::open(*w, Lsn(1)).value();
    return [&value_bytes, reader] {
      auto r = reader->next_view(0us);
      if (!r.ok() || !r->has_value()) return false;
      value_bytes += (*r)->value.size();
      return true;
    };
  });
  EXPECT_GT(value_bytes, 0u);
  KAYA_ASSERT_OK(w->close());
}

}  // namespace
}  // namespace kaya::wal
