// Out of memory in the writer, recovery and the readers: no exception escapes the
// library, an append that fails for want of memory takes no LSN and leaves the writer
// usable (or, when the memory ran out in its I/O after the LSN was taken, poisoned, like
// a failed write), and the log never has a hole. This executable replaces the global
// operator new (testing/failing_allocator.cc) so that the n-th allocation of the test's
// own thread fails (the writer's threads are left alone: their allocations do not
// depend on the test's timing), or every allocation above a size.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/failing_allocator.h"
#include "testing/strings.h"
#include "testing/test_util.h"
#include "wal/oom_test_util.h"

namespace kaya::wal {
namespace {

using kaya::testing::allocation_failed;
using kaya::testing::fail_allocations_above;
using namespace oom_testing;  // NOLINT(google-build-using-namespace)

struct SweepCase {
  uint64_t preallocate_bytes;
  DurabilityMode mode;
  bool fail_after;
};

TEST(WriterOutOfMemoryTest, AppendFailsCleanlyAtEveryAllocation) {
  for (const SweepCase c :
       {SweepCase{0, kStrict, false}, SweepCase{0, kRelaxed, false},
        SweepCase{1 << 20, kStrict, false}, SweepCase{1 << 20, kRelaxed, false},
        SweepCase{0, kStrict, true}, SweepCase{1 << 20, kRelaxed, true}}) {
    SCOPED_TRACE("preallocate_bytes " + std::to_string(c.preallocate_bytes) + ", " +
                 std::string(to_string(c.mode)) +
                 (c.fail_after ? ", every allocation after the n-th fails" : ""));
    io::SimDisk disk;
    WalConfig config;
    config.preallocate_bytes = c.preallocate_bytes;
    config.segment_max_bytes = 1 << 20;  // rotations happen within the sweep
    config.max_record_bytes = 256 << 10;
    auto opened = Writer::open(config, disk);
    KAYA_ASSERT_OK(opened);
    std::unique_ptr<Writer> w = std::move(opened).value();
    std::vector<uint64_t> acked;
    int failures = 0, reopens = 0;
    long n = 0;
    // Out of memory in the I/O after an LSN was taken poisons, as a failed write does
    // (also after the append was acknowledged: writing the recovery point); reopening
    // recovers a log without a hole.
    auto reopen = [&] {
      EXPECT_FALSE(w->close().ok());
      w.reset();
      ++reopens;
      expect_contiguous(disk, config, acked);
      auto again = Writer::open(config, disk);
      EXPECT_TRUE(again.ok()) << again.error().to_string();
      if (again.ok()) w = std::move(again).value();
    };
    for (; n < kMaxSweep && w != nullptr; ++n) {
      if (w->stats().poisoned) reopen();
      if (w == nullptr) break;
      const uint64_t before = w->next_lsn().value();
      const Payload payload = Payload::put("key", big_value());
      arm(n, c.fail_after);
      Result<AppendResult> r = w->append(payload, c.mode);
      disarm();  // no gtest macro allocates while armed
      const bool fired = allocation_failed();
      if (r.ok()) {
        EXPECT_EQ(r->lsn.value(), before);
        acked.push_back(r->lsn.value());
        if (!fired) break;  // the append needs fewer than n allocations
        continue;
      }
      ++failures;
      ASSERT_TRUE(fired) << "allocation " << n << ": " << r.error().to_string();
      ASSERT_EQ(r.error().kind(), ErrorKind::kInternal)
          << "allocation " << n << ": " << r.error().to_string();
      EXPECT_NE(r.error().message().find("out of memory"), std::string::npos)
          << r.error().to_string();
      if (!w->stats().poisoned) {
        // Refused before it took an LSN: the writer goes on as if it never happened.
        EXPECT_EQ(w->next_lsn().value(), before) << "allocation " << n;
      }
    }
    ASSERT_NE(w, nullptr);
    ASSERT_LT(n, kMaxSweep) << "the append never succeeded";
    EXPECT_GT(failures, 3);
    // After it all, the next appends get the next LSNs.
    const uint64_t next = w->next_lsn().value();
    auto r = w->append(Payload::put("k", "v"), kStrict);
    KAYA_ASSERT_OK(r);
    EXPECT_EQ(r->lsn.value(), next);
    acked.push_back(next);
    KAYA_ASSERT_OK(w->close());
    w.reset();
    expect_contiguous(disk, config, acked);
    RecordProperty("reopens", reopens);
  }
}

// Mapped mode: the record's place in the segment is mapped before it takes an LSN. A
// map that cannot be had for want of memory (SimDisk: the window's buffer; FileDisk:
// address space, mmap's ENOMEM under ulimit -v) refuses the append and leaves the
// writer usable; it took the LSN and poisoned the writer. Every allocation of the test
// thread above half the record fails, after appends that sized the thread's encoding
// buffer: the map is the first allocation of the record's size.
// append_async: a refusal for want of memory before the LSN is taken leaves the writer
// as it was, and no completion ever runs for it (out of memory in the I/O after the
// LSN poisons, as for append); every accepted append completes exactly once, and the
// log has no hole and every record whose completion succeeded.
TEST(WriterOutOfMemoryTest, AsyncAppendFailsCleanlyAtEveryAllocation) {
  for (const DurabilityMode mode : {kStrict, kRelaxed}) {
    SCOPED_TRACE(std::string(to_string(mode)));
    io::SimDisk disk;
    WalConfig config;
    config.max_record_bytes = 256 << 10;
    auto opened = Writer::open(config, disk);
    KAYA_ASSERT_OK(opened);
    std::unique_ptr<Writer> w = std::move(opened).value();
    std::mutex mu;
    std::vector<uint64_t> acked;  // under mu
    std::atomic<uint64_t> completed{0};
    uint64_t accepted = 0;
    int failures = 0;
    long n = 0;
    for (; n < kMaxSweep && w != nullptr; ++n) {
      if (w->stats().poisoned) {
        EXPECT_FALSE(w->close().ok());
        w.reset();
        auto again = Writer::open(config, disk);
        KAYA_ASSERT_OK(again);
        w = std::move(again).value();
      }
      const uint64_t before = w->next_lsn().value();
      const Payload payload = Payload::put("key", big_value());
      AppendCallback done = [&](const Result<AppendResult>& r) {
        if (r.ok()) {
          std::lock_guard lock(mu);
          acked.push_back(r->lsn.value());
        }
        completed++;
      };
      arm(n, false);
      Result<Lsn> r = w->append_async(payload, mode, std::move(done));
      disarm();  // no gtest macro allocates while armed
      const bool fired = allocation_failed();
      if (r.ok()) {
        EXPECT_EQ(r->value(), before);
        ++accepted;
        if (!fired) break;  // the append needs fewer than n allocations
        continue;
      }
      ++failures;
      ASSERT_TRUE(fired) << "allocation " << n << ": " << r.error().to_string();
      ASSERT_EQ(r.error().kind(), ErrorKind::kInternal) << r.error().to_string();
      if (!w->stats().poisoned) {
        EXPECT_EQ(w->next_lsn().value(), before) << "allocation " << n;
      }
    }
    ASSERT_NE(w, nullptr);
    ASSERT_LT(n, kMaxSweep) << "the append never succeeded";
    EXPECT_GT(failures, 0);
    KAYA_ASSERT_OK(w->close());
    w.reset();
    EXPECT_EQ(completed.load(), accepted);
    expect_contiguous(disk, config, acked);
  }
}

TEST(WriterOutOfMemoryTest, AMapOfTheRecordThatCannotBeHadRefusesTheAppend) {
  for (const DurabilityMode mode : {kStrict, kRelaxed}) {
    SCOPED_TRACE(std::string(to_string(mode)));
    io::SimDisk disk;
    WalConfig config;
    config.preallocate_bytes = 4096;  // below the record: each record maps itself alone
    config.segment_max_bytes = 1 << 20;
    config.max_record_bytes = 256 << 10;
    const std::string value(48 << 10, 'm');  // within the writer's scratch buffer
    const Payload payload = Payload::put("key", value);
    const uint64_t len = payload.encoded_len();
    auto w = Writer::open(config, disk);
    KAYA_ASSERT_OK(w);
    std::vector<uint64_t> acked;
    for (int i = 0; i < 2; ++i) {
      auto r = (*w)->append(payload, mode);
      KAYA_ASSERT_OK(r);
      acked.push_back(r->lsn.value());
    }
    const uint64_t before = (*w)->next_lsn().value();
    const uint64_t offset = 2 * len;
    fail_allocations_above(len / 2);
    auto refused = (*w)->append(payload, mode);
    fail_allocations_above(0);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind(), ErrorKind::kInternal);
    for (const std::string& part :
         {kaya::testing::cat("out of memory mapping [", std::to_string(offset), ", ",
                             std::to_string(offset + len), ") of "),
          std::string("wal/0000000000000001.wal")}) {
      EXPECT_NE(refused.error().message().find(part), std::string::npos)
          << "no \"" << part << "\" in: " << refused.error().message();
    }
    EXPECT_FALSE((*w)->stats().poisoned);
    EXPECT_EQ((*w)->next_lsn().value(), before);
    // With memory, the same record gets the LSN the refused one did not take.
    auto next = (*w)->append(payload, mode);
    KAYA_ASSERT_OK(next);
    EXPECT_EQ(next->lsn.value(), before);
    EXPECT_EQ(next->offset, offset);
    acked.push_back(next->lsn.value());
    KAYA_ASSERT_OK((*w)->close());
    w->reset();
    expect_contiguous(disk, config, acked);
  }
}

// A preallocation window that cannot be mapped for want of memory is followed by a map
// of the record alone (as near a full disk): the append succeeds.
TEST(WriterOutOfMemoryTest, AWindowThatCannotBeMappedFallsBackToTheRecord) {
  for (const DurabilityMode mode : {kStrict, kRelaxed}) {
    SCOPED_TRACE(std::string(to_string(mode)));
    io::SimDisk disk;
    WalConfig config;
    config.preallocate_bytes = 1 << 20;
    config.segment_max_bytes = 4 << 20;
    config.max_record_bytes = 256 << 10;
    const std::string value(48 << 10, 'w');
    const Payload payload = Payload::put("key", value);
    auto w = Writer::open(config, disk);
    KAYA_ASSERT_OK(w);
    fail_allocations_above(512 << 10);  // the record fits, the 1 MiB window does not
    auto r = (*w)->append(payload, mode);
    fail_allocations_above(0);
    KAYA_ASSERT_OK(r);
    EXPECT_EQ(r->lsn, Lsn(1));
    EXPECT_FALSE((*w)->stats().poisoned);
    auto next = (*w)->append(payload, kStrict);
    KAYA_ASSERT_OK(next);
    EXPECT_EQ(next->lsn, Lsn(2));
    KAYA_ASSERT_OK((*w)->close());
    w->reset();
    expect_contiguous(disk, config, {1, 2});
  }
}

}  // namespace
}  // namespace kaya::wal
