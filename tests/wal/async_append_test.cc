// Writer::append_async: completions in LSN order, strict ones only once durable,
// poisoning, close, back-pressure and what a completion may do (writer.h).

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using io::FaultKind;
using io::SimDisk;
using ::kaya::testing::seed_from_env;
using testing::FsyncGate;
using testing::read_log;

constexpr auto kStrict = DurabilityMode::kStrict;
constexpr auto kRelaxed = DurabilityMode::kRelaxed;

// With the recovery point kept inline, every fsync_file while appending is a
// segment's: the tests count and hold them.
std::unique_ptr<Writer> open_or_die(const WalConfig& config, io::Disk& disk) {
  OpenOptions options;
  options.recovery_point_inline = true;
  auto w = Writer::open(config, disk, options);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return w.ok() ? std::move(w).value() : nullptr;
}

// Lets the first `allowed` fsync_file calls made after it is installed through, and
// holds the others until allow() raises the count.
class FsyncTurnstile {
 public:
  explicit FsyncTurnstile(SimDisk& disk) {
    disk.set_fsync_hook([this](const io::RelativePath&) {
      std::unique_lock lock(mu_);
      const uint64_t n = calls_++;
      cv_.notify_all();
      cv_.wait(lock, [&] { return n < allowed_; });
    });
  }
  void allow(uint64_t allowed) {
    std::lock_guard lock(mu_);
    allowed_ = allowed;
    cv_.notify_all();
  }
  // Waits until `calls` fsyncs have started (the held ones included).
  void wait_for_calls(uint64_t calls) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return calls_ >= calls; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t calls_ = 0;
  uint64_t allowed_ = 0;
};

// What the completions saw, in the order they ran.
struct Completions {
  std::mutex mu;
  std::vector<Lsn> lsns;        // of every completion, failed ones included
  std::vector<Status> outcome;  // ok, or the error
  std::vector<bool> durable;

  AppendCallback callback() {
    return [this](const Result<AppendResult>& r) {
      std::lock_guard lock(mu);
      if (r.ok()) {
        lsns.push_back(r->lsn);
        outcome.push_back(ok_status());
        durable.push_back(r->durable);
      } else {
        lsns.push_back(Lsn());
        outcome.push_back(r.error());
        durable.push_back(false);
      }
    };
  }
  size_t size() {
    std::lock_guard lock(mu);
    return lsns.size();
  }
};

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

TEST(AsyncAppendTest, CloseWaitsForEveryCompletionToReturn) {
  SimDisk disk;
  auto w = open_or_die({}, disk);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> returned{0};
  for (int i = 0; i < 50; ++i) {
    KAYA_ASSERT_OK(w->append_async(Payload::put("k", std::to_string(i)), kStrict,
                                   [&, i](const Result<AppendResult>& r) {
                                     EXPECT_TRUE(r.ok());
                                     if (i == 0) released.wait();
                                     returned++;
                                   }));
  }
  auto closer = std::async(std::launch::async, [&] { return w->close(); });
  // The first completion is blocked: close() cannot have returned.
  EXPECT_NE(closer.wait_for(std::chrono::milliseconds(50)), std::future_status::ready);
  EXPECT_EQ(returned.load(), 0);
  release.set_value();
  KAYA_ASSERT_OK(closer.get());
  EXPECT_EQ(returned.load(), 50);
  EXPECT_EQ(w->stats().async_in_flight_bytes, 0u);
}

TEST(AsyncAppendTest, CloseRunsTheCompletionsOfTheRecordsItSyncs) {
  SimDisk disk;
  FsyncGate gate(disk);
  auto w = open_or_die({}, disk);
  gate.close();
  std::atomic<int> returned{0};
  for (int i = 0; i < 50; ++i) {
    KAYA_ASSERT_OK(w->append_async(Payload::put("k", std::to_string(i)), kStrict,
                                   [&](const Result<AppendResult>& r) {
                                     EXPECT_TRUE(r.ok());
                                     returned++;
                                   }));
  }
  gate.wait_for_held();
  // close() starts while none of them is durable: it syncs them, then waits for their
  // completions.
  auto closer = std::async(std::launch::async, [&] { return w->close(); });
  gate.open();
  KAYA_ASSERT_OK(closer.get());
  EXPECT_EQ(returned.load(), 50);
}

TEST(AsyncAppendTest, InFlightBytesNeverExceedTheBound) {
  SimDisk disk;
  FsyncGate gate(disk);
  WalConfig config;
  const uint64_t len = Payload::put("k", std::string(200, 'v')).encoded_len();
  config.async_max_in_flight_bytes = 10 * len;
  auto w = open_or_die(config, disk);
  gate.close();
  std::atomic<uint64_t> appended{0};
  Completions seen;
  auto appender = std::async(std::launch::async, [&] {
    for (int i = 0; i < 100; ++i) {
      auto r = w->append_async(Payload::put("k", std::string(200, 'v')), kStrict,
                               seen.callback());
      if (!r.ok()) return r.status();
      appended++;
    }
    return ok_status();
  });
  // While the fsyncs are held, exactly ten appends fit; the eleventh waits for room.
  while (appended.load() < 10) std::this_thread::yield();
  gate.wait_for_held();
  EXPECT_NE(appender.wait_for(std::chrono::milliseconds(20)), std::future_status::ready);
  EXPECT_EQ(appended.load(), 10u);
  EXPECT_EQ(w->stats().async_in_flight_bytes, 10 * len);
  gate.open();
  KAYA_ASSERT_OK(appender.get());
  KAYA_ASSERT_OK(w->close());
  EXPECT_EQ(seen.size(), 100u);
  const WriterStats stats = w->stats();
  EXPECT_EQ(stats.async_appends, 100u);
  EXPECT_LE(stats.async_in_flight_bytes_peak, config.async_max_in_flight_bytes);
  EXPECT_EQ(stats.async_in_flight_bytes, 0u);
}

TEST(AsyncAppendTest, ARecordLargerThanTheBoundGoesAlone) {
  SimDisk disk;
  WalConfig config;
  config.async_max_in_flight_bytes = 100;
  auto w = open_or_die(config, disk);
  auto big = w->append_async(Payload::put("k", std::string(1000, 'v')), kStrict);
  KAYA_ASSERT_OK(big);
  auto second = w->append_async(Payload::put("k", std::string(1000, 'w')), kStrict);
  KAYA_ASSERT_OK(second);
  KAYA_ASSERT_OK(big->wait());
  KAYA_ASSERT_OK(second->wait());
  KAYA_ASSERT_OK(w->close());
  // One at a time: never both in flight.
  EXPECT_EQ(w->stats().async_in_flight_bytes_peak,
            Payload::put("k", std::string(1000, 'v')).encoded_len());
}

TEST(AsyncAppendTest, ACompletionMayCallTheWriterAsDocumented) {
  SimDisk disk;
  WalConfig config;
  const uint64_t len = Payload::put("k", "v").encoded_len();
  config.async_max_in_flight_bytes = 3 * len;
  auto w = open_or_die(config, disk);
  FsyncTurnstile turnstile(disk);
  std::optional<AppendFuture> later;
  std::vector<Status> from_completion;
  std::promise<void> entered;
  auto first = w->append_async(
      Payload::put("k", "v"), kStrict, [&](const Result<AppendResult>& r) {
        EXPECT_TRUE(r.ok());
        entered.set_value();
        // Waiting for a later append would wait for this thread: refused at once.
        auto waited = later->wait();
        from_completion.push_back(waited.status());
        // So is close(), which waits for this completion to return.
        from_completion.push_back(w->close());
        // And append_async at the bound (two records of `len` in flight, plus two).
        from_completion.push_back(
            w->append_async(Payload::put("k", std::string(len, 'v')), kRelaxed,
                            [](const Result<AppendResult>&) {})
                .status());
        // A small one fits, a strict append and sync work (and take their time).
        from_completion.push_back(w->append_async(Payload::put("k", "v"), kStrict,
                                                  [](const Result<AppendResult>& small) {
                                                    EXPECT_TRUE(small.ok());
                                                  })
                                      .status());
        from_completion.push_back(w->append(Payload::put("s", "1"), kStrict).status());
        from_completion.push_back(w->sync());
      });
  KAYA_ASSERT_OK(first);
  turnstile.wait_for_calls(1);  // LSN 1's fsync: the next two records wait for the next
  auto middle = w->append_async(Payload::put("k", "v"), kStrict);
  KAYA_ASSERT_OK(middle);
  later = std::move(middle).value();
  KAYA_ASSERT_OK(w->append_async(Payload::put("k", "v"), kStrict, [](auto&) {}));
  // LSN 1 completes; the fsync of LSN 2 and 3 is held while its completion runs (they
  // stay in flight), then every later one goes through.
  turnstile.allow(1);
  turnstile.wait_for_calls(2);
  entered.get_future().wait();  // LSN 1's completion runs alone
  EXPECT_FALSE(later->ready());
  turnstile.allow(UINT64_MAX);
  KAYA_ASSERT_OK(later->wait());
  KAYA_ASSERT_OK(w->close());
  ASSERT_EQ(from_completion.size(), 6u);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_FALSE(from_completion[i].ok()) << i;
    EXPECT_EQ(from_completion[i].error().kind(), ErrorKind::kInvalidArgument);
  }
  EXPECT_NE(from_completion[0].error().message().find("wait for itself"),
            std::string::npos);
  EXPECT_NE(from_completion[1].error().message().find("close() called from a completion"),
            std::string::npos);
  EXPECT_NE(from_completion[2].error().message().find("in-flight bound"),
            std::string::npos);
  for (size_t i = 3; i < 6; ++i) KAYA_EXPECT_OK(from_completion[i]);
  auto log = read_log(disk);
  KAYA_ASSERT_OK(log);
  EXPECT_EQ(log->records.size(), 5u);  // the refused append took no LSN
}

TEST(AsyncAppendTest, AppendsAboveATruncationFail) {
  SimDisk disk;
  auto w = open_or_die({}, disk);
  for (int i = 0; i < 3; ++i) KAYA_ASSERT_OK(w->append(Payload::put("k", "v"), kStrict));
  // The completion of LSN 4 holds the completion thread while the truncation runs:
  // LSN 5 and 6 are settled after it, and learn that they were cut.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  Completions seen;
  KAYA_ASSERT_OK(w->append_async(Payload::put("k", "4"), kStrict,
                                 [&](const Result<AppendResult>& r) {
                                   EXPECT_TRUE(r.ok());
                                   entered.set_value();
                                   released.wait();
                                 }));
  entered.get_future().wait();
  KAYA_ASSERT_OK(w->append_async(Payload::put("k", "5"), kRelaxed, seen.callback()));
  KAYA_ASSERT_OK(w->append_async(Payload::put("k", "6"), kStrict, seen.callback()));
  auto cut = w->truncate_after(Lsn(4));
  KAYA_ASSERT_OK(cut);
  auto again = w->append_async(Payload::put("k", "5'"), kStrict, seen.callback());
  KAYA_ASSERT_OK(again);
  EXPECT_EQ(*again, Lsn(5));
  release.set_value();
  KAYA_ASSERT_OK(w->close());
  ASSERT_EQ(seen.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_FALSE(seen.outcome[i].ok());
    EXPECT_EQ(seen.outcome[i].error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(seen.outcome[i].error().message().find("truncation"), std::string::npos);
  }
  KAYA_EXPECT_OK(seen.outcome[2]);
  EXPECT_EQ(seen.lsns[2], Lsn(5));
}

TEST(AsyncAppendTest, RefusedAppendsTakeNoLsnAndNeverComplete) {
  SimDisk disk;
  WalConfig config;
  config.max_record_bytes = 100;
  auto w = open_or_die(config, disk);
  Completions seen;
  auto r =
      w->append_async(Payload::put("k", std::string(200, 'v')), kStrict, seen.callback());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(w->next_lsn(), Lsn(1));
  KAYA_ASSERT_OK(w->close());
  EXPECT_EQ(seen.size(), 0u);
  auto closed = w->append_async(Payload::put("k", "v"), kStrict, seen.callback());
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(AsyncAppendTest, ZeroBoundIsRefused) {
  WalConfig config;
  config.async_max_in_flight_bytes = 0;
  Status s = config.validate();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("async_max_in_flight_bytes"), std::string::npos);
}

}  // namespace
}  // namespace kaya::wal
