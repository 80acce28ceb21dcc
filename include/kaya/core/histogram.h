// A log-scale latency histogram (values in microseconds, or any non-negative count).
//
// Buckets: values 0..15 are exact; above that each power of two is split into 8
// sub-buckets, so a reported percentile is within 12.5% of the true value. Fixed size
// (no allocation when recording), mergeable, not thread-safe (callers synchronise).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "kaya/core/export.h"

namespace kaya {

class KAYA_API Histogram {
 public:
  static constexpr int kSubBucketBits = 3;
  static constexpr int kBucketCount = 16 + (64 - 4) * (1 << kSubBucketBits);

  void record(uint64_t value);
  void merge(const Histogram& other);
  void clear();

  uint64_t count() const { return count_; }
  uint64_t sum() const { return sum_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const;
  // The value at percentile p (0..100): the upper bound of the bucket holding it,
  // clamped to [min(), max()]. 0 when empty.
  uint64_t percentile(double p) const;

  // "count=.. mean=.. p50=.. p99=.. p99.9=.. max=.."
  std::string summary() const;

  // Bucket layout, exposed for tests and serialisers.
  static int bucket_index(uint64_t value);
  static uint64_t bucket_upper_bound(int index);  // largest value in the bucket
  uint64_t bucket_count(int index) const { return buckets_[index]; }

 private:
  std::array<uint64_t, kBucketCount> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace kaya
