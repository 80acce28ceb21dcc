// Writer::append_async: completions run in LSN order (across many appenders, and when
// every batch is a write), strict ones only once durable, and poisoning or a failed
// write fails every pending completion in order (writer.h).
#include <gtest/gtest.h>

#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/async_append_test_util.h"
#include "wal/wal_test_util.h"
#include "wal/writer_test_util.h"

namespace kaya::wal {
namespace {

using io::FaultKind;
using io::SimDisk;
using ::kaya::testing::seed_from_env;
using testing::FsyncGate;
using testing::kRelaxed;
using testing::kStrict;
using testing::read_log;
using namespace async_testing;  // NOLINT(google-build-using-namespace)

// 8 threads append 300 records each, strict or relaxed at random (`seed`); every
// completion runs once, in LSN order, and the log holds what was appended.
void check_completion_order(WalConfig config, uint32_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  SimDisk disk;
  config.segment_max_bytes = 16 << 10;  // rotations meanwhile
  auto w = open_or_die(config, disk);
  std::mutex mu;
  std::vector<uint64_t> order;  // LSNs, as the completions ran
  std::vector<std::string> values(1);
  values.resize(8 * 300 + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(seed + t);
      for (int i = 0; i < 300; ++i) {
        const std::string value = std::to_string(t) + "/" + std::to_string(i);
        const DurabilityMode mode = rng() % 2 ? kStrict : kRelaxed;
        auto lsn = w->append_async(Payload::put("k", value), mode,
                                   [&, mode](const Result<AppendResult>& r) {
                                     ASSERT_TRUE(r.ok()) << r.error().to_string();
                                     if (mode == kStrict) {
                                       EXPECT_TRUE(r->durable);
                                     }
                                     std::lock_guard lock(mu);
                                     order.push_back(r->lsn.value());
                                   });
        ASSERT_TRUE(lsn.ok()) << lsn.error().to_string();
        std::lock_guard lock(mu);
        values[lsn->value()] = value;
      }
    });
  }
  for (auto& t : threads) t.join();
  KAYA_ASSERT_OK(w->close());
  ASSERT_EQ(order.size(), 8u * 300);
  for (size_t i = 0; i < order.size(); ++i) ASSERT_EQ(order[i], i + 1) << "at " << i;
  EXPECT_GT(w->stats().rotations, 0u);
  auto log = read_log(disk, config);
  KAYA_ASSERT_OK(log);
  ASSERT_EQ(log->records.size(), 8u * 300);
  for (const Record& r : log->records) EXPECT_EQ(r.value, values[r.lsn.value()]);
}

TEST(AsyncAppendTest, CompletionsRunInLsnOrderAcrossManyAppenders) {
  check_completion_order({},
                         static_cast<uint32_t>(seed_from_env(std::random_device{}())));
}

TEST(AsyncAppendTest, CompletionsRunInLsnOrderWhenEveryBatchIsAWrite) {
  WalConfig config;
  config.preallocate_bytes = 0;  // relaxed records are staged: the syncer writes them
  check_completion_order(config,
                         static_cast<uint32_t>(seed_from_env(std::random_device{}())));
}

TEST(AsyncAppendTest, NoStrictCompletionRunsWhileItsFsyncIsHeld) {
  SimDisk disk;
  FsyncGate gate(disk);
  auto w = open_or_die({}, disk);
  Completions seen;
  gate.close();
  auto first = w->append_async(Payload::put("a", "1"), kStrict);
  KAYA_ASSERT_OK(first);
  gate.wait_for_held();  // the syncer is inside the fsync covering LSN 1
  for (int i = 0; i < 5; ++i) {
    KAYA_ASSERT_OK(
        w->append_async(Payload::put("b", std::to_string(i)), kStrict, seen.callback()));
  }
  // A relaxed record after them completes after them too (LSN order), though the OS
  // has it once this synchronous relaxed append returns.
  KAYA_ASSERT_OK(w->append_async(Payload::put("c", "3"), kRelaxed, seen.callback()));
  KAYA_ASSERT_OK(w->append(Payload::put("d", "4"), kRelaxed));
  EXPECT_FALSE(first->ready());
  EXPECT_EQ(seen.size(), 0u);
  EXPECT_EQ(w->stats().durable_lsn_end, Lsn(1));
  gate.open();
  auto r = first->wait();
  KAYA_ASSERT_OK(r);
  EXPECT_TRUE(r->durable);
  EXPECT_EQ(r->lsn, Lsn(1));
  KAYA_ASSERT_OK(w->close());
  ASSERT_EQ(seen.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    KAYA_EXPECT_OK(seen.outcome[i]);
    EXPECT_EQ(seen.lsns[i], Lsn(i + 2));
    if (i < 5) {
      EXPECT_TRUE(seen.durable[i]);
    }
  }
}

TEST(AsyncAppendTest, PoisoningFailsEveryPendingCompletionInOrder) {
  SimDisk disk;
  FsyncGate gate(disk);
  auto w = open_or_die({}, disk);
  Completions seen;
  gate.close();
  KAYA_ASSERT_OK(w->append_async(Payload::put("a", "1"), kStrict, seen.callback()));
  gate.wait_for_held();
  // Each relaxed record follows a strict one whose fsync fails: it gets the error too.
  for (int i = 0; i < 8; ++i) {
    KAYA_ASSERT_OK(w->append_async(Payload::put("b", std::to_string(i)),
                                   i % 3 == 2 ? kRelaxed : kStrict, seen.callback()));
  }
  disk.fail_nth(FaultKind::kFsyncFailure, 2);  // the fsync after the held one fails
  gate.open();
  Status closed = w->close();  // waits for every completion
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().kind(), ErrorKind::kFsyncFailed);
  ASSERT_EQ(seen.size(), 9u);
  KAYA_EXPECT_OK(seen.outcome[0]);  // durable before the failure
  EXPECT_EQ(seen.lsns[0], Lsn(1));
  for (size_t i = 1; i < 9; ++i) {
    ASSERT_FALSE(seen.outcome[i].ok()) << "completion " << i;
    EXPECT_EQ(seen.outcome[i].error().kind(), ErrorKind::kFsyncFailed)
        << seen.outcome[i].error().to_string();
  }
  // And a later append_async is refused at once with the poisoning error.
  auto late = w->append_async(Payload::put("z", "9"), kStrict, seen.callback());
  ASSERT_FALSE(late.ok());
}

TEST(AsyncAppendTest, CompletionsOfPendingAppendsRunInOrderWhenAWriteFails) {
  SimDisk disk;
  WalConfig config;
  config.preallocate_bytes = 0;  // every batch is a write
  auto w = open_or_die(config, disk);
  Completions seen;
  disk.fail_nth(FaultKind::kWriteError, 1);
  for (int i = 0; i < 20; ++i) {
    (void)w->append_async(Payload::put("k", std::to_string(i)),
                          i % 2 ? kStrict : kRelaxed, seen.callback());
  }
  EXPECT_FALSE(w->close().ok());
  ASSERT_GT(seen.size(), 0u);
  // A prefix may have failed only as a whole: no success after a failure.
  bool failed = false;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!seen.outcome[i].ok()) {
      failed = true;
      EXPECT_EQ(seen.outcome[i].error().kind(), ErrorKind::kIo);
    } else {
      EXPECT_FALSE(failed) << "a completion succeeded after a failed one, at " << i;
    }
  }
  EXPECT_TRUE(failed);
}

}  // namespace
}  // namespace kaya::wal
