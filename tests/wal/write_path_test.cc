// Which way a relaxed record reaches the segment in mapped mode (docs/durability.md,
// "How records reach the file"): a small one is copied into the map, a large one is
// written with one system call into the allocated space. Both read back the same.
// Large relaxed records are written by their own appenders side by side, and each is
// acknowledged only once every earlier record is written ("Relaxed appends").
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/recording_disk.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

// The writes and appends the disk saw.
size_t writes_seen(const testing::RecordingDisk& disk) {
  return disk.count("write_at") + disk.count("append");
}

TEST(WritePathTest, SmallRelaxedRecordsAreStoredLargeOnesWritten) {
  io::SimDisk sim;
  testing::RecordingDisk disk(sim);
  WalConfig config;  // preallocate_bytes: 1 MiB, mapped on SimDisk
  auto w = Writer::open(config, disk);
  KAYA_ASSERT_OK(w);
  const std::string small(100, 's');
  const std::string large(4000, 'L');

  size_t before = writes_seen(disk);
  auto a = (*w)->append(Payload::put("a", small), DurabilityMode::kRelaxed);
  KAYA_ASSERT_OK(a);
  ASSERT_LT(a->encoded_len, 2048u);
  EXPECT_EQ(writes_seen(disk), before) << "a small relaxed record was not a store";

  before = writes_seen(disk);
  const size_t write_ats = disk.count("write_at");
  auto b = (*w)->append(Payload::put("b", large), DurabilityMode::kRelaxed);
  KAYA_ASSERT_OK(b);
  ASSERT_GE(b->encoded_len, 2048u);
  EXPECT_EQ(writes_seen(disk), before + 1);
  EXPECT_EQ(disk.count("write_at"), write_ats + 1)
      << "a large relaxed record was not written with one write_at";

  // A small one after a large one is stored again.
  before = writes_seen(disk);
  KAYA_ASSERT_OK((*w)->append(Payload::put("c", small), DurabilityMode::kRelaxed));
  EXPECT_EQ(writes_seen(disk), before);

  KAYA_ASSERT_OK((*w)->close());
  auto log = testing::read_log(sim, config);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->records.size(), 3u);
  EXPECT_EQ(log->records[1].value, large);
  EXPECT_EQ(log->records[2].value, small);
  EXPECT_TRUE(log->report.anomalies.empty());
}

// A write_at of segment 1 at one offset waits in the disk until the test lets it go
// on (or fail): a write still in flight when another appender's completes.
class HeldWrite {
 public:
  void hold_at(uint64_t offset) {
    std::lock_guard<std::mutex> lock(mu_);
    offset_ = offset;
  }
  Status before_write_at(const io::RelativePath& path, uint64_t offset) {
    std::unique_lock<std::mutex> lock(mu_);
    if (offset != offset_ || path.str() != format::segment_path(1)) return ok_status();
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    if (fail_) return Error(ErrorKind::kIo, "the held write failed (test)");
    return ok_status();
  }
  bool wait_entered() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return entered_; });
  }
  void release(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    if (released_) return;
    released_ = true;
    fail_ = fail;
    cv_.notify_all();
  }

 private:
  uint64_t offset_ = UINT64_MAX;
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
  bool fail_ = false;
};

// Whether the file at `path` holds `bytes` at `offset` (read as another process would:
// through the page cache).
bool file_holds(const std::string& path, uint64_t offset,
                const std::vector<uint8_t>& bytes) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> got(bytes.size());
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(got.data(), static_cast<std::streamsize>(got.size()));
  return in.gcount() == static_cast<std::streamsize>(got.size()) &&
         std::equal(got.begin(), got.end(), bytes.begin(),
                    [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; });
}

// Two large relaxed appends: the first one's write is held in the disk, the second
// one's goes through meanwhile. The second is not acknowledged before the first; a
// process that dies then leaves zeros and a later record beyond the recovery point,
// which recovery moves aside as records after a hole; the first write then fails or
// completes (`fail_first`).
struct OutOfOrderWrites {
  kaya::testing::TempDir dir;
  std::string crash_image;  // a copy of the log while the first write was held
  Result<AppendResult> first = Error(ErrorKind::kInternal, "not run");
  Result<AppendResult> second = Error(ErrorKind::kInternal, "not run");
  bool second_returned_early = false;
  uint64_t held_at = 0;
  uint64_t second_at = 0;
};

void write_out_of_order(OutOfOrderWrites& t, bool fail_first) {
  const std::string root = t.dir.path() + "/log";
  HeldWrite held;  // outlives the disk whose hook calls it
  auto file_disk = io::FileDisk::open(root);
  KAYA_ASSERT_OK(file_disk);
  testing::RecordingDisk disk(**file_disk);
  WalConfig config;  // mapped on a FileDisk
  auto w = Writer::open(config, disk);
  KAYA_ASSERT_OK(w);
  auto last = (*w)->append(Payload::put("k1", "durable"), DurabilityMode::kStrict);
  KAYA_ASSERT_OK(last);
  t.held_at = last->offset + last->encoded_len;
  held.hold_at(t.held_at);
  disk.before_write_at = [&](const io::RelativePath& path, uint64_t offset) {
    return held.before_write_at(path, offset);
  };
  const std::string a_value(4000, 'a');
  const std::string b_value(4000, 'b');
  const Payload a = Payload::put("a", a_value);
  const Payload b = Payload::put("b", b_value);
  std::vector<uint8_t> b_bytes(b.encoded_len());
  KAYA_ASSERT_OK(encode_unsealed(b, b_bytes));
  seal(b_bytes, Lsn(3), SequenceNumber(3));
  t.second_at = t.held_at + a.encoded_len();

  std::future<Result<AppendResult>> first;
  std::future<Result<AppendResult>> second;
  // Whatever fails below, the held write goes on before the futures wait for it.
  struct Release {
    HeldWrite& held;
    ~Release() { held.release(/*fail=*/true); }
  } release_at_exit{held};
  first = std::async(std::launch::async,
                     [&] { return (*w)->append(a, DurabilityMode::kRelaxed); });
  ASSERT_TRUE(held.wait_entered()) << "the first record's write never reached the disk";
  second = std::async(std::launch::async,
                      [&] { return (*w)->append(b, DurabilityMode::kRelaxed); });
  // The second record reaches the file while the first one's write is held.
  const std::string segment = root + "/" + format::segment_path(1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!file_holds(segment, t.second_at, b_bytes) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(file_holds(segment, t.second_at, b_bytes))
      << "the second record was not written while the first one's write was in flight";
  // (Its append waits for the first write: a short look suffices to catch one that
  // returns without it; the check never fails a correct writer.)
  t.second_returned_early =
      second.wait_for(std::chrono::milliseconds(50)) == std::future_status::ready;
  t.crash_image = t.dir.path() + "/image";
  std::filesystem::copy(root, t.crash_image, std::filesystem::copy_options::recursive);
  held.release(fail_first);
  t.first = first.get();
  t.second = second.get();
  (void)(*w)->close();
}

TEST(WritePathTest, LargeRelaxedRecordsAreWrittenSideBySideAndAcknowledgedInOrder) {
  OutOfOrderWrites t;
  write_out_of_order(t, /*fail_first=*/false);
  if (HasFatalFailure()) return;
  EXPECT_FALSE(t.second_returned_early)
      << "LSN 3 was acknowledged while LSN 2 was not written";
  KAYA_ASSERT_OK(t.first);
  KAYA_ASSERT_OK(t.second);
  EXPECT_EQ(t.first->lsn, Lsn(2));
  EXPECT_EQ(t.second->lsn, Lsn(3));

  // The process dies with LSN 2's write in flight: zeros, then LSN 3, beyond the
  // recovery point (LSN 1). Recovery keeps LSN 1 and moves LSN 3 aside, reported.
  auto image = io::FileDisk::open(t.crash_image, /*create=*/false);
  KAYA_ASSERT_OK(image);
  auto report = recover(WalConfig{}, **image);
  KAYA_ASSERT_OK(report);
  ASSERT_EQ(report->anomalies.size(), 1u);
  EXPECT_EQ(report->anomalies[0].kind, AnomalyKind::kLostAfterHole)
      << report->anomalies[0].to_string();
  EXPECT_EQ(report->anomalies[0].offset, t.held_at);
  EXPECT_EQ(report->next_lsn, Lsn(2));
  ASSERT_EQ(report->dropped.size(), 1u);
  EXPECT_NE(report->dropped[0].moved_to, "") << "records after a hole are never deleted";
  auto back = testing::read_log(**image);
  KAYA_ASSERT_OK(back);
  ASSERT_EQ(back->records.size(), 1u);
  EXPECT_EQ(back->records[0].key, "k1");

  // The log itself, both writes done, holds all three.
  auto disk = io::FileDisk::open(t.dir.path() + "/log", /*create=*/false);
  KAYA_ASSERT_OK(disk);
  auto log = testing::read_log(**disk);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->records.size(), 3u);
  EXPECT_EQ(log->records[2].key, "b");
  EXPECT_TRUE(log->report.anomalies.empty());
}

TEST(WritePathTest, AFailedEarlierWriteFailsTheLaterOnesWrittenBeside) {
  OutOfOrderWrites t;
  write_out_of_order(t, /*fail_first=*/true);
  if (HasFatalFailure()) return;
  EXPECT_FALSE(t.second_returned_early);
  ASSERT_FALSE(t.first.ok());
  EXPECT_EQ(t.first.error().kind(), ErrorKind::kIo) << t.first.error().to_string();
  // LSN 3 is in the file, but never acknowledged: its record follows a failed one.
  ASSERT_FALSE(t.second.ok()) << "LSN 3 acknowledged after LSN 2's write failed";
  EXPECT_NE(t.second.error().message().find("poisoned"), std::string::npos)
      << t.second.error().to_string();
}

}  // namespace
}  // namespace kaya::wal
