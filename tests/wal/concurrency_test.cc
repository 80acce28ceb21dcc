// Many threads appending at once: every acknowledged record is in the log exactly
// once, in an order consistent with each thread's own order, and strict appends share
// fsyncs. Run under ThreadSanitizer in CI.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "kaya/io/file_disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

struct Acked {
  uint64_t lsn;
  std::string key;
};

// Runs `threads` threads that each append `per_thread` records with keys
// "t<thread>-<i>", in `mode_of(thread)`; returns the acknowledgements.
template <typename ModeOf>
std::vector<Acked> append_from_threads(Writer& w, int threads, int per_thread,
                                       ModeOf mode_of) {
  std::vector<std::vector<Acked>> acked(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        std::string key =
            kaya::testing::cat("t", std::to_string(t), "-", std::to_string(i));
        auto r = w.append(Payload::put(key, std::string(100, 'v')), mode_of(t));
        ASSERT_TRUE(r.ok()) << r.error().to_string();
        acked[t].push_back({r->lsn.value(), key});
      }
    });
  }
  for (auto& th : pool) th.join();
  std::vector<Acked> all;
  for (auto& v : acked) all.insert(all.end(), v.begin(), v.end());
  return all;
}

// Every acknowledged record appears exactly once, at its LSN, and each thread's
// records appear in the order the thread appended them.
void expect_exactly_once(const std::vector<Record>& log,
                         const std::vector<Acked>& acked) {
  std::map<std::string, uint64_t> lsn_of_key;
  for (const Record& r : log) {
    EXPECT_TRUE(lsn_of_key.emplace(r.key, r.lsn.value()).second) << "duplicate " << r.key;
  }
  std::set<uint64_t> lsns;
  for (const Acked& a : acked) {
    EXPECT_TRUE(lsns.insert(a.lsn).second) << "LSN " << a.lsn << " acknowledged twice";
    auto it = lsn_of_key.find(a.key);
    ASSERT_NE(it, lsn_of_key.end()) << "acknowledged record " << a.key << " is missing";
    EXPECT_EQ(it->second, a.lsn) << a.key;
  }
  for (size_t i = 1; i < acked.size(); ++i) {
    // acked is grouped by thread in append order.
    const std::string& a = acked[i - 1].key;
    const std::string& b = acked[i].key;
    if (a.substr(0, a.find('-')) == b.substr(0, b.find('-'))) {
      EXPECT_LT(acked[i - 1].lsn, acked[i].lsn) << a << " then " << b;
    }
  }
}

TEST(ConcurrencyTest, SixtyFourStrictThreadsShareFsyncs) {
  kaya::testing::TempDir dir;
  auto disk = io::FileDisk::open(dir.path());
  KAYA_ASSERT_OK(disk);
  auto opened = Writer::open({}, **disk);
  KAYA_ASSERT_OK(opened);
  auto& w = **opened;
  constexpr int kThreads = 64;
  constexpr int kPerThread = 40;
  auto acked = append_from_threads(w, kThreads, kPerThread,
                                   [](int) { return DurabilityMode::kStrict; });
  ASSERT_EQ(acked.size(), size_t{kThreads * kPerThread});
  WriterStats stats = w.stats();
  EXPECT_EQ(stats.strict_records, acked.size());
  EXPECT_LT(stats.fsyncs, stats.records) << "strict appends did not share fsyncs";
  KAYA_ASSERT_OK(w.close());

  auto log = testing::read_log(**disk);
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), acked.size());
  expect_exactly_once(log->records, acked);
}

TEST(ConcurrencyTest, MixedModesWithRotationSurviveACrashAfterSync) {
  io::SimDisk disk(io::SimDiskOptions{.seed = 11});
  WalConfig config;
  config.segment_max_bytes = 4096;
  config.max_record_bytes = 1024;
  auto opened = Writer::open(config, disk);
  KAYA_ASSERT_OK(opened);
  std::unique_ptr<Writer> w = std::move(opened).value();
  auto acked = append_from_threads(*w, 16, 50, [](int t) {
    return t % 2 ? DurabilityMode::kStrict : DurabilityMode::kRelaxed;
  });
  KAYA_ASSERT_OK(w->sync());
  EXPECT_GT(w->stats().rotations, 10u);
  testing::crash_with_writer(disk, w);

  auto log = testing::read_log(disk, config);
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), acked.size());
  expect_exactly_once(log->records, acked);
}

TEST(ConcurrencyTest, BatchedStrictAppendsAreAllDurableExactlyOnce) {
  io::SimDisk disk;
  WalConfig config;
  config.batch.max_records = 8;
  config.batch.flush_interval_us = 500;
  auto opened = Writer::open(config, disk);
  KAYA_ASSERT_OK(opened);
  auto& w = **opened;
  auto acked =
      append_from_threads(w, 32, 20, [](int) { return DurabilityMode::kStrict; });
  KAYA_ASSERT_OK(w.close());
  auto log = testing::read_log(disk, config);
  KAYA_ASSERT_OK(log);
  expect_exactly_once(log->records, acked);
}

}  // namespace
}  // namespace kaya::wal
