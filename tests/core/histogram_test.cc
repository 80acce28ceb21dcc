#include "kaya/core/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "testing/test_util.h"

namespace kaya {
namespace {

constexpr double kPercentiles[] = {0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};

// Nearest-rank percentile of sorted, non-empty `values`.
uint64_t exact_percentile(const std::vector<uint64_t>& sorted, double p) {
  const double wanted = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  size_t rank = static_cast<size_t>(std::max(1.0, wanted));
  rank = std::min(rank, sorted.size());
  return sorted[rank - 1];
}

// The smallest value in bucket `index`.
uint64_t lower_bound_of(int index) {
  return index == 0 ? 0 : Histogram::bucket_upper_bound(index - 1) + 1;
}

void expect_same(const Histogram& a, const Histogram& b) {
  EXPECT_EQ(a.count(), b.count());
  EXPECT_EQ(a.sum(), b.sum());
  EXPECT_EQ(a.min(), b.min());
  EXPECT_EQ(a.max(), b.max());
  for (int i = 0; i < Histogram::kBucketCount; ++i) {
    ASSERT_EQ(a.bucket_count(i), b.bucket_count(i)) << "bucket " << i;
  }
  for (double p : kPercentiles) EXPECT_EQ(a.percentile(p), b.percentile(p)) << "p" << p;
  EXPECT_EQ(a.summary(), b.summary());
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 0; v < 16; ++v) {
    EXPECT_EQ(Histogram::bucket_index(v), static_cast<int>(v));
    EXPECT_EQ(Histogram::bucket_upper_bound(static_cast<int>(v)), v);
    h.record(v);
  }
  for (int i = 0; i < 16; ++i) EXPECT_EQ(h.bucket_count(i), 1u) << "bucket " << i;
  EXPECT_EQ(h.count(), 16u);
  EXPECT_EQ(h.sum(), 120u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 15u);
  EXPECT_DOUBLE_EQ(h.mean(), 7.5);
  // Ranks 1..16 hold values 0..15, and small values come back exactly.
  EXPECT_EQ(h.percentile(0), 0u);
  EXPECT_EQ(h.percentile(25), 3u);
  EXPECT_EQ(h.percentile(50), 7u);
  EXPECT_EQ(h.percentile(100), 15u);
}

TEST(HistogramTest, FirstSplitBuckets) {
  // 16..31 is split into 8 buckets of width 2; 32..63 into 8 of width 4.
  EXPECT_EQ(Histogram::bucket_index(16), 16);
  EXPECT_EQ(Histogram::bucket_index(17), 16);
  EXPECT_EQ(Histogram::bucket_index(18), 17);
  EXPECT_EQ(Histogram::bucket_index(31), 23);
  EXPECT_EQ(Histogram::bucket_index(32), 24);
  EXPECT_EQ(Histogram::bucket_index(35), 24);
  EXPECT_EQ(Histogram::bucket_index(36), 25);
  EXPECT_EQ(Histogram::bucket_upper_bound(16), 17u);
  EXPECT_EQ(Histogram::bucket_upper_bound(23), 31u);
  EXPECT_EQ(Histogram::bucket_upper_bound(24), 35u);
}

TEST(HistogramTest, BucketBoundsAreMonotonicAndCoverEveryValue) {
  EXPECT_EQ(Histogram::bucket_index(0), 0);
  EXPECT_EQ(Histogram::bucket_upper_bound(Histogram::kBucketCount - 1), UINT64_MAX);
  for (int i = 0; i < Histogram::kBucketCount; ++i) {
    SCOPED_TRACE("bucket " + std::to_string(i));
    const uint64_t lo = lower_bound_of(i);
    const uint64_t hi = Histogram::bucket_upper_bound(i);
    ASSERT_LE(lo, hi);
    // Both ends map back to this bucket, and the next value starts the next one: the
    // buckets tile [0, UINT64_MAX] with no gap and no overlap.
    ASSERT_EQ(Histogram::bucket_index(lo), i);
    ASSERT_EQ(Histogram::bucket_index(hi), i);
    if (i + 1 < Histogram::kBucketCount) {
      ASSERT_EQ(Histogram::bucket_index(hi + 1), i + 1);
    }
    // A bucket is at most 1/8 as wide as its smallest value.
    if (lo >= 16) {
      ASSERT_LE(hi - lo, lo / 8);
    }
  }
}

TEST(HistogramTest, RandomValuesFallInsideTheirBucket) {
  const uint64_t seed = testing::seed_from_env(20240611);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);  // spread over every magnitude
    const int index = Histogram::bucket_index(v);
    ASSERT_GE(index, 0) << v;
    ASSERT_LT(index, Histogram::kBucketCount) << v;
    ASSERT_LE(lower_bound_of(index), v);
    ASSERT_GE(Histogram::bucket_upper_bound(index), v);
  }
}

// Percentiles are never below the exact value and at most 12.5% above it.
void check_percentiles(const std::vector<uint64_t>& values) {
  Histogram h;
  for (uint64_t v : values) h.record(v);
  std::vector<uint64_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ(h.count(), sorted.size());
  EXPECT_EQ(h.min(), sorted.front());
  EXPECT_EQ(h.max(), sorted.back());
  for (double p : kPercentiles) {
    const uint64_t exact = exact_percentile(sorted, p);
    const uint64_t got = h.percentile(p);
    EXPECT_GE(got, exact) << "p" << p;
    EXPECT_LE(got - std::min(got, exact), exact / 8) << "p" << p << " exact " << exact;
  }
  EXPECT_EQ(h.percentile(100), sorted.back());
}

TEST(HistogramTest, PercentilesWithinRelativeErrorOnRandomData) {
  const uint64_t seed = testing::seed_from_env(7);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (replay with KAYA_SEED)");
  std::mt19937_64 rng(seed);

  std::vector<std::function<uint64_t()>> distributions = {
      [&] { return std::uniform_int_distribution<uint64_t>(0, 1'000'000)(rng); },
      [&] { return std::uniform_int_distribution<uint64_t>(0, 40)(rng); },
      [&] { return rng() >> (rng() % 64); },  // log-uniform-ish over all of uint64_t
      [&] {                                   // latency-like: mostly fast, a long tail
        return static_cast<uint64_t>(std::lognormal_distribution<double>(5.0, 1.5)(rng));
      },
  };
  for (size_t d = 0; d < distributions.size(); ++d) {
    for (size_t n : {1, 2, 3, 10, 1000, 20000}) {
      SCOPED_TRACE("distribution " + std::to_string(d) + " n " + std::to_string(n));
      std::vector<uint64_t> values(n);
      for (uint64_t& v : values) v = distributions[d]();
      check_percentiles(values);
    }
  }
}

TEST(HistogramTest, MergeEqualsRecordingBoth) {
  const uint64_t seed = testing::seed_from_env(99);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  Histogram a, b, both;
  for (int i = 0; i < 5000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    ((i % 3 == 0) ? a : b).record(v);
    both.record(v);
  }
  Histogram merged = a;
  merged.merge(b);
  expect_same(merged, both);

  // Merging with an empty histogram changes nothing, in either direction.
  Histogram empty, from_empty;
  from_empty.merge(both);
  expect_same(from_empty, both);
  merged.merge(empty);
  expect_same(merged, both);
}

TEST(HistogramTest, MergeKeepsMinAndMax) {
  Histogram a, b;
  a.record(100);
  a.record(200);
  b.record(5);
  b.record(7);
  a.merge(b);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.min(), 5u);
  EXPECT_EQ(a.max(), 200u);
  EXPECT_EQ(a.sum(), 312u);
}

TEST(HistogramTest, EmptyHistogram) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.sum(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  for (double p : kPercentiles) EXPECT_EQ(h.percentile(p), 0u) << "p" << p;
  for (int i = 0; i < Histogram::kBucketCount; ++i) ASSERT_EQ(h.bucket_count(i), 0u);
  EXPECT_EQ(h.summary(), "count=0 mean=0.0 p50=0 p99=0 p99.9=0 max=0");
}

TEST(HistogramTest, MaxValue) {
  EXPECT_EQ(Histogram::bucket_index(UINT64_MAX), Histogram::kBucketCount - 1);
  EXPECT_EQ(Histogram::bucket_index(UINT64_MAX - 1), Histogram::kBucketCount - 1);
  EXPECT_EQ(Histogram::bucket_index(uint64_t{1} << 63), Histogram::kBucketCount - 8);

  Histogram h;
  h.record(UINT64_MAX);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.bucket_count(Histogram::kBucketCount - 1), 1u);
  EXPECT_EQ(h.min(), UINT64_MAX);
  EXPECT_EQ(h.max(), UINT64_MAX);
  EXPECT_EQ(h.percentile(0), UINT64_MAX);
  EXPECT_EQ(h.percentile(50), UINT64_MAX);
  EXPECT_EQ(h.percentile(100), UINT64_MAX);

  // The sum saturates rather than wrapping around to a small number.
  h.record(UINT64_MAX);
  h.record(1);
  EXPECT_EQ(h.sum(), UINT64_MAX);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.percentile(0), 1u);
  EXPECT_EQ(h.percentile(100), UINT64_MAX);
}

TEST(HistogramTest, OutOfRangePercentilesAreClamped) {
  Histogram h;
  for (uint64_t v = 1000; v <= 2000; ++v) h.record(v);
  EXPECT_EQ(h.percentile(-5), h.percentile(0));
  EXPECT_EQ(h.percentile(250), 2000u);
  EXPECT_EQ(h.percentile(std::nan("")), h.percentile(0));
  EXPECT_GE(h.percentile(0), 1000u);
  EXPECT_LE(h.percentile(0), 1000u + 1000u / 8);
}

TEST(HistogramTest, ClearResetsEverything) {
  Histogram h;
  for (uint64_t v = 10; v < 10000; v += 7) h.record(v);
  ASSERT_GT(h.count(), 0u);
  h.clear();
  expect_same(h, Histogram());
  // min tracking starts afresh after clear().
  h.record(500);
  EXPECT_EQ(h.min(), 500u);
  EXPECT_EQ(h.max(), 500u);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.percentile(50), 500u);
}

TEST(HistogramTest, SummaryFormat) {
  Histogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.record(v);
  // p50: rank 50 is value 50, in bucket [48, 51]. p99: value 99 is in [96, 103],
  // clamped to max 100.
  EXPECT_EQ(h.summary(), "count=100 mean=50.5 p50=51 p99=100 p99.9=100 max=100");
}

}  // namespace
}  // namespace kaya
