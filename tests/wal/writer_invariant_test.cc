// A broken invariant in the writer (here: a Disk that maps less than the writer asked
// for, so a record would be stored outside the map). Where assertions abort (Debug and
// sanitizer builds) the process stops with the file and line; in a release
// configuration the writer is poisoned with InvariantViolation naming them, every
// later call fails with it, and the process goes on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "core/assert.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/writer.h"
#include "testing/test_util.h"
#include "wal/recording_disk.h"
#include "wal/wal_test_util.h"

namespace kaya::wal {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// Restores the build's assertion behaviour when a test ends.
class AssertionsAbort {
 public:
  explicit AssertionsAbort(bool abort) : saved_(core::assertions_abort()) {
    core::set_assertions_abort(abort);
  }
  ~AssertionsAbort() { core::set_assertions_abort(saved_); }

 private:
  bool saved_;
};

WalConfig mapped_config() {
  WalConfig config;
  config.preallocate_bytes = 1 << 20;  // records go through a map of the segment
  return config;
}

TEST(WriterInvariantTest, AFailedInvariantPoisonsTheWriterWithFileAndLineInRelease) {
  const AssertionsAbort release(false);  // what a Release build does
  io::SimDisk sim;
  testing::RecordingDisk disk(sim);
  disk.map_at_most(16);  // shorter than any record
  auto w = Writer::open(mapped_config(), disk);
  KAYA_ASSERT_OK(w);

  auto first = (*w)->append(Payload::put("k", "v"), DurabilityMode::kRelaxed);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().kind(), ErrorKind::kInvariantViolation);
  EXPECT_THAT(first.error().message(),
              MatchesRegex(".*invariant violated at wal/segment_writer\\.cc:[0-9]+: .*"));
  EXPECT_TRUE((*w)->stats().poisoned);
  EXPECT_EQ((*w)->stats().records, 0u);

  // Sticky: every later call fails with the same kind and names the first failure.
  for (const DurabilityMode mode : {DurabilityMode::kRelaxed, DurabilityMode::kStrict}) {
    auto later = (*w)->append(Payload::put("k", "v"), mode);
    ASSERT_FALSE(later.ok());
    EXPECT_EQ(later.error().kind(), ErrorKind::kInvariantViolation);
    EXPECT_THAT(later.error().message(), HasSubstr("wal/segment_writer.cc:"));
  }
  Status sync = (*w)->sync();
  EXPECT_EQ(sync.error().kind(), ErrorKind::kInvariantViolation);
  Status closed = (*w)->close();
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().kind(), ErrorKind::kInvariantViolation);
}

TEST(WriterInvariantDeathTest,
     AFailedInvariantAbortsWithFileAndLineWhereAssertionsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the writer runs threads
  EXPECT_DEATH(
      {
        const AssertionsAbort debug(true);
        io::SimDisk sim;
        testing::RecordingDisk disk(sim);
        disk.map_at_most(16);
        auto w = Writer::open(mapped_config(), disk);
        if (w.ok()) {
          (void)(*w)->append(Payload::put("k", "v"), DurabilityMode::kRelaxed);
        }
      },
      "kaya: invariant violated at wal/segment_writer\\.cc:[0-9]+: ");
}

}  // namespace
}  // namespace kaya::wal
