// The writer's recovery point is written off the commit path: a round's leader never
// waits behind a sync of the file in progress (it leaves its write to the thread that
// syncs, which writes the point right after), and the file still catches up with the
// durable records. Where the writer maps its segments the point is stored through a
// map of the file (no system call per round).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <thread>

#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "recording_disk.h"
#include "testing/test_util.h"
#include "wal_test_util.h"

namespace kaya::wal {
namespace {

using namespace std::chrono_literals;

// Generous bound for waits that must end; never a timing assertion.
constexpr auto kLiveness = std::chrono::seconds(60);

uint64_t recovery_point_lsn(io::Disk& disk) {
  auto rp = read_recovery_point(disk);
  if (!rp.ok() || !rp->has_value()) return 0;
  return (*rp)->durable.lsn.value();
}

TEST(RecoveryPointKeeperTest, StrictAppendsDoNotWaitBehindTheFilesSync) {
  io::SimDisk disk;
  testing::FsyncGate gate(disk, std::string(rp_format::kFile));
  WalConfig config;
  config.recovery_point_sync_ms = 1;
  auto w = Writer::open(config, disk);
  KAYA_ASSERT_OK(w);
  gate.close();
  // The first round's leader writes the point; the writer's thread syncs it within a
  // millisecond, and that sync is held.
  KAYA_ASSERT_OK((*w)->append(Payload::put("k", "1"), DurabilityMode::kStrict));
  gate.wait_for_held();
  auto appends = std::async(std::launch::async, [&] {
    for (int i = 2; i <= 5; ++i) {
      auto r =
          (*w)->append(Payload::put("k", std::to_string(i)), DurabilityMode::kStrict);
      if (!r.ok()) return r.error().to_string();
    }
    return std::string();
  });
  const auto status = appends.wait_for(kLiveness);
  gate.open();  // (before any assertion can end the test with the append held)
  ASSERT_EQ(status, std::future_status::ready)
      << "a strict append waited for the recovery point's sync";
  EXPECT_EQ(appends.get(), "");
  // The writes the leaders left are made by the thread after its sync: the file
  // catches up with the durable records without another append.
  const auto deadline = std::chrono::steady_clock::now() + kLiveness;
  while (recovery_point_lsn(disk) < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(recovery_point_lsn(disk), 5u) << "the recovery point stayed behind";
  KAYA_ASSERT_OK((*w)->close());
}

// Calls of `op` on the recovery point's file.
size_t rp_calls(const testing::RecordingDisk& disk, std::string_view op) {
  return disk.count(op, rp_format::kFile);
}

constexpr uint64_t kRounds = 20;

// A writer on FileDisk through a RecordingDisk. Strict appends one at a time each
// lead their own round and write the point after it.
struct RoundsOnFileDisk {
  explicit RoundsOnFileDisk(uint64_t preallocate_bytes) {
    auto opened = io::FileDisk::open(dir.path());
    EXPECT_TRUE(opened.ok());
    file = std::move(*opened);
    recording = std::make_unique<testing::RecordingDisk>(*file);
    WalConfig config;
    config.preallocate_bytes = preallocate_bytes;
    config.recovery_point_sync_ms = WalConfig::kMaxRecoveryPointSyncMs;  // no sync here
    auto w = Writer::open(config, *recording);
    EXPECT_TRUE(w.ok());
    writer = std::move(*w);
  }
  // Strict appends 1..n, one at a time (each leads its own round); false on a failure.
  bool strict_rounds(uint64_t n) {
    for (uint64_t i = 1; i <= n; ++i) {
      auto r =
          writer->append(Payload::put("k", std::to_string(i)), DurabilityMode::kStrict);
      EXPECT_TRUE(r.ok()) << r.error().to_string();
      if (!r.ok()) return false;
    }
    return true;
  }
  // The durable LSN the point names, read by another FileDisk as another process (or
  // recovery after this one is killed) would.
  uint64_t lsn_in_file() const {
    auto other = io::FileDisk::open(dir.path(), /*create=*/false);
    EXPECT_TRUE(other.ok());
    return other.ok() ? recovery_point_lsn(**other) : 0;
  }

  kaya::testing::TempDir dir;
  std::unique_ptr<io::FileDisk> file;
  std::unique_ptr<testing::RecordingDisk> recording;
  std::unique_ptr<Writer> writer;
};

TEST(RecoveryPointKeeperTest, OnTheMappedPathEachRoundStoresThePointThroughAMap) {
  RoundsOnFileDisk log(WalConfig::kDefaultPreallocateBytes);
  ASSERT_NE(log.writer, nullptr);
  log.recording->clear();
  ASSERT_TRUE(log.strict_rounds(kRounds));
  // One map of the file, made by the first round; no write of it after that.
  EXPECT_EQ(rp_calls(*log.recording, "map_for_write"), 1u);
  EXPECT_EQ(rp_calls(*log.recording, "write_at"), 0u);
  // Each round's store is in the file, as another process (or recovery after this one
  // is killed) reads it: the point names the last record made durable.
  EXPECT_EQ(log.lsn_in_file(), kRounds);

  // A kill in the middle of a store tears the slot being written; the other slot
  // holds the last synced point (made before these appends). Recovery
  // of that image (the directory as the killed process leaves it) takes that one and
  // keeps every record: the window is the power-loss one.
  kaya::testing::TempDir image;
  std::filesystem::copy(log.dir.path(), image.path(),
                        std::filesystem::copy_options::recursive |
                            std::filesystem::copy_options::overwrite_existing);
  KAYA_ASSERT_OK(log.writer->close());
  // Every round since the file's last sync wrote the same slot: the one of the higher
  // generation. Tear it (its CRC no longer matches).
  const std::string rp_path = image.path() + "/" + std::string(rp_format::kFile);
  std::string bytes;
  {
    std::ifstream in(rp_path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(bytes.size(), rp_format::kFileBytes);
  uint64_t generation[rp_format::kSlots] = {};
  for (size_t i = 0; i < rp_format::kSlots; ++i) {
    auto slot = decode_slot(
        std::span<const uint8_t>(
            reinterpret_cast<const uint8_t*>(bytes.data()) + i * rp_format::kSlotBytes,
            rp_format::kSlotBytes),
        "slot");
    KAYA_ASSERT_OK(slot);
    generation[i] = slot->generation;
  }
  const size_t newer = generation[1] > generation[0] ? 1 : 0;
  auto begin = bytes.begin() + static_cast<std::ptrdiff_t>(newer * rp_format::kSlotBytes);
  std::fill(begin, begin + rp_format::kSlotBytes / 2, '\0');  // invalid now
  {
    std::ofstream out(rp_path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good());
  }
  auto copy = io::FileDisk::open(image.path(), /*create=*/false);
  KAYA_ASSERT_OK(copy);
  EXPECT_LT(recovery_point_lsn(**copy), kRounds) << "the synced slot is the one left";
  auto reopened = Writer::open({}, **copy);
  KAYA_ASSERT_OK(reopened);
  EXPECT_TRUE((*reopened)->recovery_report().anomalies.empty())
      << (*reopened)->recovery_report().to_string();
  EXPECT_EQ((*reopened)->recovery_report().records, kRounds);
  KAYA_ASSERT_OK((*reopened)->close());
}

TEST(RecoveryPointKeeperTest, WithoutPreallocationEachRoundWritesThePoint) {
  // preallocate_bytes = 0: every write of the writer is a system call, the point's too.
  RoundsOnFileDisk log(0);
  ASSERT_NE(log.writer, nullptr);
  log.recording->clear();
  ASSERT_TRUE(log.strict_rounds(kRounds));
  EXPECT_EQ(rp_calls(*log.recording, "map_for_write"), 0u);
  EXPECT_GE(rp_calls(*log.recording, "write_at"), kRounds);
  EXPECT_EQ(log.lsn_in_file(), kRounds);
  KAYA_ASSERT_OK(log.writer->close());
}

TEST(RecoveryPointKeeperTest, NoMemoryForTheMapWritesThePointInstead) {
  RoundsOnFileDisk log(WalConfig::kDefaultPreallocateBytes);
  ASSERT_NE(log.writer, nullptr);
  log.recording->clear();
  log.recording->before_map_for_write = [](const io::RelativePath& path) -> Status {
    if (path.str() != rp_format::kFile) return ok_status();
    return Error(ErrorKind::kInternal, "out of memory mapping the file (test)");
  };
  ASSERT_TRUE(log.strict_rounds(kRounds));
  EXPECT_EQ(rp_calls(*log.recording, "map_for_write"), 1u) << "asked once, not per round";
  EXPECT_GE(rp_calls(*log.recording, "write_at"), kRounds);
  EXPECT_FALSE(log.writer->stats().poisoned);
  EXPECT_EQ(log.lsn_in_file(), kRounds);
  KAYA_ASSERT_OK(log.writer->close());
}

}  // namespace
}  // namespace kaya::wal
