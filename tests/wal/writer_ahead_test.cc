// Preparation of the next preallocation window ahead of the appends (SegmentWriter,
// "Preparation ahead"): the writer's syncer thread allocates and maps it before an
// append needs it, and a preparation that fails is never lost: the append that reaches
// the window allocates it itself and fails there when that fails too.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "wal/recording_disk.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using testing::read_log;

constexpr uint64_t kWindow = 64 << 10;
constexpr size_t kValueBytes = 1024 - 48;  // a 1 KiB Put record

// A SimDisk behind a RecordingDisk whose map hook notes which thread asked for each
// map_for_write, and fails (DiskFull) those made by other threads than the test's, or
// every one after the first, as the test asks.
class WindowDisk {
 public:
  struct MapCall {
    uint64_t offset;
    bool test_thread;
  };

  WindowDisk() {
    disk_.set_map_hook([this](uint64_t offset) -> Status {
      const bool test_thread = std::this_thread::get_id() == test_thread_;
      std::lock_guard<std::mutex> lock(mu_);
      const bool fail =
          (fail_other_threads_ && !test_thread) || (fail_after_first_ && !maps_.empty());
      maps_.push_back({offset, test_thread});
      if (fail) return Error(ErrorKind::kDiskFull, "allocate space: disk full");
      return ok_status();
    });
  }

  io::Disk& disk() { return disk_; }
  io::SimDisk& sim() { return sim_; }
  void fail_other_threads() { fail_other_threads_ = true; }
  void fail_all_after_first() { fail_after_first_ = true; }
  std::vector<MapCall> maps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return maps_;
  }

 private:
  io::SimDisk sim_;
  testing::RecordingDisk disk_{sim_};
  const std::thread::id test_thread_ = std::this_thread::get_id();
  mutable std::mutex mu_;
  std::vector<MapCall> maps_;
  bool fail_other_threads_ = false;  // set before the writer opens
  bool fail_after_first_ = false;    // likewise
};

WalConfig small_windows() {
  WalConfig config;
  config.preallocate_bytes = kWindow;
  config.segment_max_bytes = 16 * kWindow;
  return config;
}

// Waits (without a bound on the machine's speed: the syncer runs when it runs) until
// `done` holds; fails the test after a minute.
template <typename Done>
bool wait_for(Done done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(WriterAheadTest, TheNextWindowIsPreparedBeforeAnAppendNeedsIt) {
  for (const DurabilityMode mode : {DurabilityMode::kRelaxed, DurabilityMode::kStrict}) {
    SCOPED_TRACE(mode == DurabilityMode::kRelaxed ? "relaxed" : "strict");
    WindowDisk disk;
    const WalConfig config = small_windows();
    auto w = Writer::open(config, disk.disk());
    ASSERT_TRUE(w.ok()) << w.error().to_string();
    const std::string value(kValueBytes, 'v');
    // The first window is the append's; the next one is asked for at once.
    ASSERT_TRUE((*w)->append(Payload::put("k", value), mode).ok());
    ASSERT_TRUE(wait_for([&] { return (*w)->stats().windows_prepared_ahead >= 1; }));
    // Records up to twice the window: the prepared one covers them.
    for (int i = 1; i < 100; ++i) {
      auto r = (*w)->append(Payload::put("k", value), mode);
      ASSERT_TRUE(r.ok()) << r.error().to_string();
    }
    const std::vector<WindowDisk::MapCall> maps = disk.maps();
    ASSERT_GE(maps.size(), 2u);
    EXPECT_TRUE(maps[0].test_thread);
    EXPECT_EQ(maps[0].offset, 0u);
    // Every later window was made by the syncer, none by the appends.
    for (size_t i = 1; i < maps.size(); ++i) {
      EXPECT_FALSE(maps[i].test_thread) << "map " << i << " at " << maps[i].offset;
    }
    // The prepared window overlaps the first one's last quarter.
    EXPECT_EQ(maps[1].offset, kWindow - kWindow / 4);
    ASSERT_TRUE((*w)->close().ok());
    auto log = read_log(disk.sim(), config);
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    ASSERT_EQ(log->records.size(), 100u);
    for (size_t i = 0; i < log->records.size(); ++i) {
      EXPECT_EQ(log->records[i].lsn.value(), i + 1);
    }
  }
}

TEST(WriterAheadTest, AFailedPreparationLeavesTheWindowToTheAppend) {
  // The disk refuses the syncer's allocation only: the append that reaches the window
  // allocates it itself and goes on; nothing is lost.
  WindowDisk disk;
  disk.fail_other_threads();
  const WalConfig config = small_windows();
  auto w = Writer::open(config, disk.disk());
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  const std::string value(kValueBytes, 'v');
  ASSERT_TRUE((*w)->append(Payload::put("k", value), DurabilityMode::kRelaxed).ok());
  ASSERT_TRUE(wait_for([&] { return (*w)->stats().window_preparations_failed >= 1; }));
  for (int i = 1; i < 100; ++i) {
    auto r = (*w)->append(Payload::put("k", value), DurabilityMode::kRelaxed);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
  EXPECT_EQ((*w)->stats().windows_prepared_ahead, 0u);
  bool appended_window = false;
  for (const WindowDisk::MapCall& m : disk.maps()) {
    appended_window |= m.test_thread && m.offset > 0;
  }
  EXPECT_TRUE(appended_window);
  ASSERT_TRUE((*w)->close().ok());
  auto log = read_log(disk.sim(), config);
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  EXPECT_EQ(log->records.size(), 100u);
}

TEST(WriterAheadTest, AFailedPreparationThatTheAppendCannotRedoFailsThatAppend) {
  // A full disk: the syncer's allocation fails, then the append's own (the window, and
  // the record alone). That append fails with DiskFull and poisons the writer; every
  // acknowledged record is in the log.
  WindowDisk disk;
  disk.fail_all_after_first();
  const WalConfig config = small_windows();
  auto w = Writer::open(config, disk.disk());
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  const std::string value(kValueBytes, 'v');
  ASSERT_TRUE((*w)->append(Payload::put("k", value), DurabilityMode::kStrict).ok());
  ASSERT_TRUE(wait_for([&] { return (*w)->stats().window_preparations_failed >= 1; }));
  uint64_t acknowledged = 1;
  Status failed = ok_status();
  for (int i = 1; i < 100 && failed.ok(); ++i) {
    auto r = (*w)->append(Payload::put("k", value), DurabilityMode::kStrict);
    if (r.ok()) {
      acknowledged++;
    } else {
      failed = r.error();
    }
  }
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::kDiskFull) << failed.error().to_string();
  // The records of the first window: the append that needed the next one failed.
  EXPECT_EQ(acknowledged, kWindow / 1024);
  auto later = (*w)->sync();
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().kind(), ErrorKind::kDiskFull);
  EXPECT_FALSE((*w)->close().ok());
  w->reset();
  auto log = read_log(disk.sim(), config);
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  EXPECT_EQ(log->records.size(), acknowledged);
}

}  // namespace
}  // namespace kaya::wal
