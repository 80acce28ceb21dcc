// Writer::append_async around the edges: close waits for and runs completions, the
// bound on bytes in flight (a larger record goes alone; a zero bound is refused), what a
// completion may call, appends above a truncation, and refused appends (writer.h).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
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

using io::SimDisk;
using testing::FsyncGate;
using testing::kRelaxed;
using testing::kStrict;
using testing::read_log;
using namespace async_testing;  // NOLINT(google-build-using-namespace)

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
