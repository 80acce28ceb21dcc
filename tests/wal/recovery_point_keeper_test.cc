// The writer's recovery point is written off the commit path: a round's leader never
// waits behind a sync of the file in progress (it leaves its write to the thread that
// syncs, which writes the point right after), and the file still catches up with the
// durable records.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/format.h"
#include "kaya/wal/recovery_point.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal_test_util.h"

namespace kaya::wal {
namespace {

using namespace std::chrono_literals;

// Generous bound for waits that must end; never a timing assertion.
constexpr auto kLiveness = std::chrono::seconds(60);

uint64_t recovery_point_lsn(io::SimDisk& disk) {
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

}  // namespace
}  // namespace kaya::wal
