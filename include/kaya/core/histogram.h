/// @file
/// A log-scale latency histogram (values in microseconds, or any non-negative count).
///
/// Buckets: values 0..15 are exact; above that each power of two is split into 8
/// sub-buckets, so a reported percentile is within 12.5% of the true value. Fixed size
/// (no allocation when recording), mergeable, not thread-safe (callers synchronise).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "kaya/core/export.h"

namespace kaya {

/// A histogram of non-negative integer values (see the file comment for the buckets).
class KAYA_API Histogram {
 public:
  /// Each power of two above 15 is split into 2^kSubBucketBits buckets.
  static constexpr int kSubBucketBits = 3;
  /// Number of buckets: together they cover every uint64_t value.
  static constexpr int kBucketCount = 16 + (64 - 4) * (1 << kSubBucketBits);

  /// Adds one value.
  void record(uint64_t value);
  /// Adds every value recorded in `other`.
  void merge(const Histogram& other);
  /// Forgets every value.
  void clear();

  /// Values recorded.
  uint64_t count() const { return count_; }
  /// Sum of the values recorded (saturates at UINT64_MAX instead of wrapping).
  uint64_t sum() const { return sum_; }
  /// Smallest value recorded (0 when empty).
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  /// Largest value recorded (0 when empty).
  uint64_t max() const { return max_; }
  /// sum() / count() (0 when empty).
  double mean() const;
  /// The value at percentile p (0..100): the upper bound of the bucket holding it,
  /// clamped to [min(), max()]. 0 when empty.
  uint64_t percentile(double p) const;

  /// "count=.. mean=.. p50=.. p99=.. p99.9=.. max=.."
  std::string summary() const;

  /// The bucket (0 .. kBucketCount - 1) that holds `value`. Bucket layout, exposed for
  /// tests and serialisers.
  static int bucket_index(uint64_t value);
  /// The largest value bucket `index` holds.
  static uint64_t bucket_upper_bound(int index);
  /// How many recorded values bucket `index` holds.
  uint64_t bucket_count(int index) const { return buckets_[index]; }

 private:
  std::array<uint64_t, kBucketCount> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace kaya
