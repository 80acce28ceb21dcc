// Helpers shared by kaya's tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "kaya/core/status.h"

namespace kaya::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  // Under `base` instead (the default when `base` is empty).
  explicit TempDir(const std::string& base);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A directory in memory (tmpfs: /dev/shm) when there is a writable one, else "": for
// tests whose subject is not the storage but that sync thousands of times, which costs
// milliseconds each on a disk and nothing in memory.
std::string memory_temp_base();

// The seed for randomised tests: $KAYA_SEED when set (to replay a failure), else
// `fallback`. Tests print the seed they use in their failure messages.
uint64_t seed_from_env(uint64_t fallback);

// How many seeds a sweeping test runs: $KAYA_SEEDS when set, else `fallback`.
uint64_t seed_count_from_env(uint64_t fallback);

// The same for a seed sweep whose seeds vary the data, faults and crash points, not the
// interleaving of threads: $KAYA_SEEDS when set, else `full`, or `under_tsan` in a
// ThreadSanitizer build. Such a sweep finds its logic errors under AddressSanitizer and
// in Release with every seed; under ThreadSanitizer (ten times slower) a few hundred
// seeds exercise the same threads and locks.
uint64_t sweep_seed_count(uint64_t full, uint64_t under_tsan);

// Bytes of a file in tests/golden (directory from $KAYA_GOLDEN_DIR).
std::string read_golden(const std::string& name);

}  // namespace kaya::testing

// Fails the test with the error's text unless `expr` (a Status or Result) is ok.
#define KAYA_ASSERT_OK(expr)                                                          \
  do {                                                                                \
    const auto& kaya_r_ = (expr);                                                     \
    ASSERT_TRUE(kaya_r_.ok()) << #expr << " failed: " << kaya_r_.error().to_string(); \
  } while (0)
#define KAYA_EXPECT_OK(expr)                                                          \
  do {                                                                                \
    const auto& kaya_r_ = (expr);                                                     \
    EXPECT_TRUE(kaya_r_.ok()) << #expr << " failed: " << kaya_r_.error().to_string(); \
  } while (0)
