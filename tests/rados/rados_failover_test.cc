// Failover: an OSD is stopped (SIGTERM, by the PID the cluster script recorded) while
// a writer appends strict records from several threads. Every acknowledged record must
// be readable afterwards, and the writer must keep acknowledging with one OSD gone
// (pool size 3, min_size 2). Needs KAYA_CEPH_DIR (scripts/ceph-cluster.sh env); it
// leaves the cluster with one OSD less, so scripts/test-rados.sh runs it last.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kaya/wal/writer.h"
#include "rados_test_util.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::io {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kThreads = 8;

pid_t osd_pid(int id) {
  const char* dir = std::getenv("KAYA_CEPH_DIR");
  if (dir == nullptr) return -1;
  std::ifstream in(std::string(dir) + "/pids/osd." + std::to_string(id) + ".pid");
  long pid = -1;
  in >> pid;
  return in ? static_cast<pid_t>(pid) : -1;
}

TEST(RadosFailoverTest, AcknowledgedRecordsSurviveAnOsdStoppedMidWrite) {
  const pid_t victim = osd_pid(0);
  ASSERT_GT(victim, 0) << "no PID for osd.0: set KAYA_CEPH_DIR to the cluster of "
                          "scripts/ceph-cluster.sh (scripts/test-rados.sh does)";
  ASSERT_EQ(::kill(victim, 0), 0) << "osd.0 (PID " << victim << ") is not running";

  const RadosDiskOptions options = rados_testing::test_options("failover");
  auto disk = rados_testing::open_test_disk(options);
  KAYA_ASSERT_OK(disk);
  WalConfig config;
  config.segment_max_bytes = 256 << 10;  // rotations during the failover too
  config.max_record_bytes = 4096;
  auto writer = wal::Writer::open(config, **disk);
  KAYA_ASSERT_OK(writer);

  std::mutex mu;
  std::set<std::string> acked;
  std::atomic<bool> stop{false};
  std::atomic<Clock::rep> killed_at{0};
  std::atomic<uint64_t> acks_after_kill{0};
  std::string failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; !stop; ++i) {
        const std::string key =
            kaya::testing::cat("t", std::to_string(t), "-", std::to_string(i));
        auto r = (*writer)->append(wal::Payload::put(key, std::string(200, 'v')),
                                   DurabilityMode::kStrict);
        std::lock_guard<std::mutex> lock(mu);
        if (!r.ok()) {
          if (failure.empty()) failure = key + ": " + r.error().to_string();
          return;
        }
        acked.insert(key);
        if (killed_at != 0) acks_after_kill++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto kill_time = Clock::now();
  ASSERT_EQ(::kill(victim, SIGTERM), 0);
  killed_at = kill_time.time_since_epoch().count();
  uint64_t before;
  {
    std::lock_guard<std::mutex> lock(mu);
    before = acked.size();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(6000));
  stop = true;
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(failure, "") << "an append failed during the failover";
  KAYA_ASSERT_OK((*writer)->close());

  auto fresh = rados_testing::open_test_disk(options);
  KAYA_ASSERT_OK(fresh);
  auto log = wal::testing::read_log(**fresh, config);
  KAYA_ASSERT_OK(log);
  std::set<std::string> found;
  for (const wal::Record& r : log->records) found.insert(r.key);
  for (const std::string& key : acked) {
    ASSERT_TRUE(found.count(key)) << "acknowledged record " << key << " is missing";
  }
  EXPECT_EQ(found.size(), acked.size());
  EXPECT_GT(acks_after_kill.load(), 0u) << "the writer stopped acknowledging";
  std::printf(
      "failover test: osd.0 (PID %d) stopped after %llu acknowledged strict records; "
      "%llu more acknowledged in the 6 s after; all %llu found after reopening\n",
      static_cast<int>(victim), static_cast<unsigned long long>(before),
      static_cast<unsigned long long>(acks_after_kill.load()),
      static_cast<unsigned long long>(acked.size()));
}

}  // namespace
}  // namespace kaya::io
