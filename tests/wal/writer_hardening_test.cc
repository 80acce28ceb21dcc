// The writer under failures that are not a failed write or fsync: a segment that cannot
// be created at rotation, a log removed under a running writer.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/fault_disk.h"
#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/recording_disk.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using io::FaultKind;
using testing::RecordingDisk;
using testing::segment;

constexpr auto kStrict = DurabilityMode::kStrict;
constexpr auto kRelaxed = DurabilityMode::kRelaxed;

// A Put of about 1000 bytes (a view of a static value).
Payload kilobyte_put() {
  static const std::string value(960, 'v');
  return Payload::put("k", value);
}

// A rotation whose next segment cannot be created poisons the writer; close() then
// reports that poisoning and issues no fsync or truncate (the tmpfs that ran out of
// inodes: close() returned OK and cut and synced a segment of the dead writer).
TEST(WriterPoisonTest, CloseAfterAFailedRotationFailsAndTouchesNothing) {
  for (const uint64_t preallocate : {uint64_t{0}, uint64_t{1} << 20}) {
    SCOPED_TRACE("preallocate_bytes " + std::to_string(preallocate));
    io::SimDisk sim;
    io::FaultDisk faults(sim);
    RecordingDisk disk(faults);
    WalConfig config;
    config.segment_max_bytes = 4096;
    config.max_record_bytes = 4096;
    config.preallocate_bytes = preallocate;
    auto w = Writer::open(config, disk);
    KAYA_ASSERT_OK(w);
    // Only the creation of segment 2 fails.
    faults.spare_paths([](const io::RelativePath& p) { return p != segment(2); });
    faults.fail_nth(FaultKind::kWriteError);
    uint64_t appended = 0;
    Status failed = ok_status();
    for (int i = 0; i < 10 && failed.ok(); ++i) {
      auto r = (*w)->append(kilobyte_put(), i % 2 ? kStrict : kRelaxed);
      if (r.ok()) {
        appended++;
      } else {
        failed = r.status();
      }
    }
    ASSERT_FALSE(failed.ok()) << "the rotation never failed";
    EXPECT_EQ(faults.faults_injected(FaultKind::kWriteError), 1u);
    EXPECT_EQ(failed.error().kind(), ErrorKind::kIo) << failed.error().to_string();
    EXPECT_TRUE((*w)->stats().poisoned);
    ASSERT_GE(appended, 3u);

    const size_t fsyncs = disk.count("fsync_file");
    const size_t truncates = disk.count("truncate");
    const size_t writes = disk.count("write_at") + disk.count("append");
    Status closed = (*w)->close();
    ASSERT_FALSE(closed.ok()) << "close() of a poisoned writer returned OK";
    EXPECT_EQ(closed.error().kind(), ErrorKind::kIo);
    EXPECT_NE(closed.error().message().find("poisoned"), std::string::npos)
        << closed.error().message();
    EXPECT_NE(closed.error().message().find(failed.error().message()), std::string::npos)
        << closed.error().message();
    EXPECT_EQ(disk.count("fsync_file"), fsyncs) << "close() synced a poisoned writer";
    EXPECT_EQ(disk.count("truncate"), truncates)
        << "close() cut a poisoned writer's file";
    EXPECT_EQ(disk.count("write_at") + disk.count("append"), writes);
    // Every later close says so too.
    EXPECT_FALSE((*w)->close().ok());
    w->reset();

    // The records acknowledged before the failure are all there after a reopen.
    faults.clear_faults();
    auto reopened = Writer::open(config, disk);
    KAYA_ASSERT_OK(reopened);
    EXPECT_EQ((*reopened)->next_lsn(), Lsn(appended + 1));
  }
}

// Defect: deleting wal/ under a running strict writer. Writes through an open
// descriptor and fdatasync succeed on an unlinked file, so two more records were
// acknowledged durable=true into files nobody could find again. The writer checks at
// every sync round (one statx on FileDisk) and poisons itself.

void expect_removed_error(const Error& e) {
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound) << e.to_string();
  EXPECT_NE(e.message().find("was removed while the writer had it open"),
            std::string::npos)
      << e.to_string();
}

TEST(WriterRemovedLogTest, SimDiskSegmentRemovedUnderTheWriter) {
  for (const uint64_t preallocate : {uint64_t{0}, uint64_t{1} << 20}) {
    for (const bool relaxed_first : {false, true}) {
      SCOPED_TRACE("preallocate_bytes " + std::to_string(preallocate) +
                   (relaxed_first ? ", relaxed appends after the removal" : ""));
      io::SimDisk sim;
      RecordingDisk disk(sim);
      WalConfig config;
      config.preallocate_bytes = preallocate;
      auto w = Writer::open(config, disk);
      KAYA_ASSERT_OK(w);
      for (int i = 0; i < 3; ++i) KAYA_ASSERT_OK((*w)->append(kilobyte_put(), kStrict));
      // What rm -r does to the files (SimDisk removes files, not directories).
      for (const char* name :
           {"wal/0000000000000001.wal", "wal/RECOVERY_POINT", "wal/LOCK"}) {
        KAYA_ASSERT_OK(sim.remove_file(io::RelativePath::parse(name).value()));
      }
      Status failed = ok_status();
      if (relaxed_first) {
        // Relaxed records are not acknowledged durable; the sync that would make them
        // so finds the segment gone.
        (void)(*w)->append(kilobyte_put(), kRelaxed);
        failed = (*w)->sync();
      } else {
        failed = (*w)->append(kilobyte_put(), kStrict).status();
      }
      ASSERT_FALSE(failed.ok()) << "acknowledged into a removed segment";
      EXPECT_TRUE((*w)->stats().poisoned);
      auto later = (*w)->append(kilobyte_put(), kStrict);
      ASSERT_FALSE(later.ok());
      EXPECT_NE(later.error().message().find("poisoned"), std::string::npos);
      EXPECT_FALSE((*w)->close().ok());
    }
  }
}

TEST(WriterRemovedLogTest, EverySyncRoundChecksOnce) {
  io::SimDisk sim;
  RecordingDisk disk(sim);
  auto w = Writer::open(WalConfig{}, disk);
  KAYA_ASSERT_OK(w);
  disk.clear();
  for (int i = 0; i < 5; ++i) KAYA_ASSERT_OK((*w)->append(kilobyte_put(), kStrict));
  EXPECT_EQ(disk.count("fsync_file"), 5u);
  EXPECT_EQ(disk.count("still_linked"), 5u) << "one check per sync round";
  EXPECT_EQ(disk.count("file_len"), 0u);
  KAYA_ASSERT_OK((*w)->close());
}

// The real thing: rm -r of wal/ on a FileDisk while a writer runs.
TEST(WriterRemovedLogTest, FileDiskWalDirectoryRemovedUnderTheWriter) {
  for (const uint64_t preallocate : {uint64_t{0}, uint64_t{1} << 20}) {
    SCOPED_TRACE("preallocate_bytes " + std::to_string(preallocate));
    kaya::testing::TempDir dir;
    auto disk = io::FileDisk::open(dir.path());
    KAYA_ASSERT_OK(disk);
    WalConfig config;
    config.preallocate_bytes = preallocate;
    auto w = Writer::open(config, **disk);
    KAYA_ASSERT_OK(w);
    for (int i = 0; i < 3; ++i) KAYA_ASSERT_OK((*w)->append(kilobyte_put(), kStrict));
    std::filesystem::remove_all(dir.path() + "/wal");
    auto failed = (*w)->append(kilobyte_put(), kStrict);
    ASSERT_FALSE(failed.ok()) << "acknowledged LSN " << failed->lsn.value()
                              << " durable=" << failed->durable << " into a removed file";
    expect_removed_error(failed.error());
    EXPECT_NE(failed.error().message().find(dir.path() + "/wal/0000000000000001.wal"),
              std::string::npos)
        << failed.error().message();
    EXPECT_TRUE((*w)->stats().poisoned);
    EXPECT_FALSE((*w)->append(kilobyte_put(), kStrict).ok());
    EXPECT_FALSE((*w)->close().ok());
  }
}

// Appending threads while wal/ is removed: no strict append that starts after the
// removal is acknowledged.
TEST(WriterRemovedLogTest, FileDiskRemovalUnderConcurrentStrictAppends) {
  kaya::testing::TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  auto w = Writer::open(WalConfig{}, **disk);
  KAYA_ASSERT_OK(w);
  Writer& writer = **w;
  std::atomic<bool> removed{false};
  std::atomic<uint64_t> acked_after{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> appends{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        const bool started_after = removed.load();
        auto r = writer.append(Payload::put("k", "value"), kStrict);
        appends++;
        if (!r.ok()) {
          failures++;
          return;
        }
        // (Bounded, so that a writer that never notices fails rather than hangs.)
        if (started_after && ++acked_after > 100) return;
      }
    });
  }
  while (appends.load() < 200) std::this_thread::yield();
  std::filesystem::remove_all(dir.path() + "/wal");
  removed = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(acked_after.load(), 0u) << "strict appends acknowledged after rm -r wal/";
  EXPECT_EQ(failures.load(), 4u);
  EXPECT_TRUE(writer.stats().poisoned);
  EXPECT_FALSE(writer.close().ok());
}

}  // namespace
}  // namespace kaya::wal
