// OSD loss and return under a writer (pool size 3, min_size 2, one object per
// segment), driven through scripts/ceph-cluster.sh (KAYA_CEPH_DIR names the cluster):
// - each OSD in turn, the primary of the segment being written first, is SIGKILLed
//   while strict appends run, restarted, and the pool waited clean: every acknowledged
//   record is read back, and the writer kept acknowledging with one OSD gone. On a
//   BlueStore cluster the killed OSD's store is read while it is down: it holds the
//   log's objects (it restarts with its data; memstore restarts empty and is refilled
//   by recovery).
// - two of three OSDs are taken away for longer than the lock lasts: nothing is
//   acknowledged meanwhile, the writer refuses what stalled (its lock ran out), and a
//   new writer continues right after the last record in the log, which holds every
//   acknowledged record and, beyond them, only records whose appends failed.
// Each test starts from, and leaves, every OSD up and the pool active+clean.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kaya/wal/format.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"
#include "rados_test_util.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::io {
namespace {

using Clock = std::chrono::steady_clock;
namespace cluster = rados_testing::cluster;

// Strict appends from `threads` threads until stop() or the first error of each
// thread: which keys were acknowledged (with their LSN) and which appends failed.
class Appenders {
 public:
  Appenders(wal::Writer& writer, int threads) : writer_(writer) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, t] { run(t); });
    }
  }
  ~Appenders() { stop(); }

  void stop() {
    stop_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  uint64_t acknowledged() const { return count_.load(); }

  // Waits up to `limit` for `more` acknowledgements beyond `from`; false if none came.
  bool wait_for_acknowledgements(uint64_t from, uint64_t more,
                                 std::chrono::seconds limit) const {
    const auto deadline = Clock::now() + limit;
    while (count_.load() < from + more) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  // After stop().
  const std::map<std::string, uint64_t>& acked() const { return acked_; }
  const std::map<std::string, std::string>& failed() const { return failed_; }
  uint64_t last_acked_lsn() const {
    uint64_t last = 0;
    for (const auto& [key, lsn] : acked_) last = std::max(last, lsn);
    return last;
  }

 private:
  void run(int t) {
    for (uint64_t i = 0; !stop_; ++i) {
      const std::string key =
          kaya::testing::cat("t", std::to_string(t), "-", std::to_string(i));
      auto r = writer_.append(wal::Payload::put(key, std::string(200, 'v')),
                              wal::DurabilityMode::kStrict);
      std::lock_guard<std::mutex> lock(mu_);
      if (!r.ok()) {
        failed_[key] = r.error().to_string();
        return;
      }
      acked_[key] = r->lsn.value();
      count_++;
    }
  }

  wal::Writer& writer_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> count_{0};
  std::mutex mu_;
  std::map<std::string, uint64_t> acked_;
  std::map<std::string, std::string> failed_;
  std::vector<std::thread> threads_;
};

class RadosFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override { KAYA_ASSERT_OK(cluster::heal()); }
  void TearDown() override { KAYA_EXPECT_OK(cluster::heal()); }
};

int64_t ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// The objects of the log's segments under `disk`, oldest first
// ("<prefix>/wal/<segment>.wal").
Result<std::vector<std::string>> segment_objects(Disk& disk,
                                                 const RadosDiskOptions& options) {
  KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, wal::list_segments(disk));
  std::vector<std::string> objects;
  for (uint64_t id : ids) {
    objects.push_back(options.prefix + "/" + wal::format::segment_path(id));
  }
  return objects;
}

TEST_F(RadosFailoverTest, EachOsdKilledAndRestartedInTurnLosesNoAcknowledgedRecord) {
  auto osds = cluster::osd_ids();
  KAYA_ASSERT_OK(osds);
  ASSERT_GE(osds->size(), 3u) << "the test needs a pool of size 3 on 3 OSDs";

  const RadosDiskOptions options = rados_testing::test_options("osd-turns");
  auto disk = rados_testing::open_test_disk(options);
  KAYA_ASSERT_OK(disk);
  auto observer = rados_testing::open_test_disk(options);  // lists the log meanwhile
  KAYA_ASSERT_OK(observer);
  wal::WalConfig config;
  config.segment_max_bytes = 256 << 10;  // rotations while OSDs come and go
  config.max_record_bytes = 4096;
  auto writer = wal::Writer::open(config, **disk);
  KAYA_ASSERT_OK(writer);

  Appenders appenders(**writer, 8);
  ASSERT_TRUE(appenders.wait_for_acknowledgements(0, 500, std::chrono::seconds(30)))
      << "the writer acknowledged nothing on a healthy cluster";

  // The primary of the segment being written goes first, then the others.
  auto objects = segment_objects(**observer, options);
  KAYA_ASSERT_OK(objects);
  ASSERT_FALSE(objects->empty()) << "the log has no segment yet";
  auto first = cluster::primary(objects->back(), options.object_namespace);
  KAYA_ASSERT_OK(first);
  std::vector<int> victims{*first};
  for (int id : *osds) {
    if (id != *first) victims.push_back(id);
  }

  std::string rounds;
  for (int victim : victims) {
    auto before = segment_objects(**observer, options);
    KAYA_ASSERT_OK(before);
    const uint64_t at_kill = appenders.acknowledged();
    const auto killed = Clock::now();
    KAYA_ASSERT_OK(cluster::kill_osd(victim));
    // One OSD gone leaves two copies (min_size 2): appends go on once the cluster
    // notices the loss.
    ASSERT_TRUE(
        appenders.wait_for_acknowledgements(at_kill, 200, std::chrono::seconds(60)))
        << "no acknowledgement in 60 s with osd." << victim << " down";
    const auto resumed = Clock::now();
    std::string store_note;
    if (cluster::keeps_data_across_restarts()) {
      // Every segment object created before the kill was replicated to every OSD of
      // its placement group (all three), so the dead OSD's store has it.
      auto kept = cluster::objects_on(victim, options.object_namespace);
      KAYA_ASSERT_OK(kept);
      for (const std::string& segment : *before) {
        EXPECT_TRUE(std::find(kept->begin(), kept->end(), segment) != kept->end())
            << "osd." << victim << " lost " << segment << " when killed";
      }
      store_note =
          kaya::testing::cat("; its store held the ", std::to_string(before->size()),
                             " segments of before the kill");
    }
    const auto restarted = Clock::now();
    KAYA_ASSERT_OK(cluster::restart_osd(victim));
    KAYA_ASSERT_OK(cluster::wait_clean());
    rounds += kaya::testing::cat(" osd.", std::to_string(victim), ": appends resumed ",
                                 std::to_string(ms_between(killed, resumed)),
                                 " ms after the kill", store_note, "; restarted, clean ",
                                 std::to_string(ms_between(restarted, Clock::now())),
                                 " ms later.");
  }
  appenders.stop();
  ASSERT_TRUE(appenders.failed().empty())
      << "an append failed: " << appenders.failed().begin()->first << ": "
      << appenders.failed().begin()->second;
  KAYA_ASSERT_OK((*writer)->close());

  auto fresh = rados_testing::open_test_disk(options);
  KAYA_ASSERT_OK(fresh);
  auto log = wal::testing::read_log(**fresh, config);
  KAYA_ASSERT_OK(log);
  std::map<std::string, uint64_t> found;
  for (const wal::Record& r : log->records) found[r.key] = r.lsn.value();
  for (const auto& [key, lsn] : appenders.acked()) {
    auto it = found.find(key);
    ASSERT_TRUE(it != found.end()) << "acknowledged record " << key << " is missing";
    EXPECT_EQ(it->second, lsn) << key;
  }
  EXPECT_EQ(found.size(), appenders.acked().size());
  std::printf(
      "osd turns test (%s): %zu acknowledged strict records, all read back; "
      "killed and restarted in turn:%s\n",
      cluster::keeps_data_across_restarts() ? "bluestore" : "memstore",
      appenders.acked().size(), rounds.c_str());
}

TEST_F(RadosFailoverTest, TwoOfThreeOsdsDownPastTheLockAcknowledgeNothing) {
  auto osds = cluster::osd_ids();
  KAYA_ASSERT_OK(osds);
  ASSERT_EQ(osds->size(), 3u) << "the test needs a pool of size 3, min_size 2";

  const RadosDiskOptions options = rados_testing::test_options("two-down");
  auto disk = rados_testing::open_test_disk(options);
  KAYA_ASSERT_OK(disk);
  wal::WalConfig config;
  config.max_record_bytes = 4096;
  auto writer = wal::Writer::open(config, **disk);
  KAYA_ASSERT_OK(writer);

  Appenders appenders(**writer, 4);
  ASSERT_TRUE(appenders.wait_for_acknowledgements(0, 200, std::chrono::seconds(30)));
  const std::vector<int> victims{(*osds)[1], (*osds)[2]};
  for (int victim : victims) KAYA_ASSERT_OK(cluster::kill_osd(victim));
  // Replies already on their way when the second OSD died may still arrive.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const uint64_t acked_while_down = appenders.acknowledged();
  // Past the lock's duration: the writer cannot renew it, so its disk fences itself.
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * options.lock_duration_ms));
  EXPECT_EQ(appenders.acknowledged(), acked_while_down)
      << "acknowledged with one OSD of three";
  for (int victim : victims) KAYA_ASSERT_OK(cluster::restart_osd(victim));
  KAYA_ASSERT_OK(cluster::wait_clean());
  appenders.stop();  // the stalled appends return (with the lock lost) and stop
  EXPECT_EQ(appenders.acknowledged(), acked_while_down)
      << "acknowledged after losing the lock";
  ASSERT_FALSE(appenders.failed().empty());
  for (const auto& [key, error] : appenders.failed()) {
    EXPECT_NE(error.find("LockConflict"), std::string::npos) << key << ": " << error;
  }
  EXPECT_FALSE((*writer)->close().ok()) << "a writer that lost its lock closed cleanly";
  writer->reset();
  disk->reset();

  // A new writer: every acknowledged record, then at most the records whose appends
  // failed, then its own, with no gap and no LSN used twice.
  auto fresh = rados_testing::open_test_disk(options);
  KAYA_ASSERT_OK(fresh);
  auto log = wal::testing::read_log(**fresh, config);
  KAYA_ASSERT_OK(log);
  std::map<std::string, uint64_t> found;
  uint64_t expected_lsn = 1;
  for (const wal::Record& r : log->records) {
    ASSERT_EQ(r.lsn.value(), expected_lsn++) << "a gap in the log";
    found[r.key] = r.lsn.value();
  }
  const uint64_t last_in_log = expected_lsn - 1;
  for (const auto& [key, lsn] : appenders.acked()) {
    auto it = found.find(key);
    ASSERT_TRUE(it != found.end()) << "acknowledged record " << key << " is missing";
    EXPECT_EQ(it->second, lsn) << key;
  }
  const uint64_t last_acked = appenders.last_acked_lsn();
  ASSERT_GE(last_in_log, last_acked);
  for (const wal::Record& r : log->records) {
    if (r.lsn.value() > last_acked) {
      EXPECT_TRUE(appenders.failed().count(r.key))
          << "LSN " << r.lsn.value() << " (" << r.key
          << ") beyond the last acknowledged one is no failed append";
    }
  }
  auto next = wal::Writer::open(config, **fresh);
  KAYA_ASSERT_OK(next);
  auto appended =
      (*next)->append(wal::Payload::put("after", "v"), wal::DurabilityMode::kStrict);
  KAYA_ASSERT_OK(appended);
  EXPECT_EQ(appended->lsn.value(), last_in_log + 1);
  KAYA_ASSERT_OK((*next)->close());
  std::printf(
      "two OSDs down test: %zu acknowledged before osd.%d and osd.%d were killed, none "
      "in the %u ms after; %zu stalled appends failed (%s); the log held %llu records "
      "(last acknowledged LSN %llu); the new writer appended LSN %llu\n",
      appenders.acked().size(), victims[0], victims[1], 2 * options.lock_duration_ms,
      appenders.failed().size(), appenders.failed().begin()->second.c_str(),
      static_cast<unsigned long long>(last_in_log),
      static_cast<unsigned long long>(last_acked),
      static_cast<unsigned long long>(appended->lsn.value()));
}

}  // namespace
}  // namespace kaya::io
