#include "kaya/core/histogram.h"

#include <bit>
#include <cassert>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "core/guard.h"

namespace kaya {
namespace {

constexpr int kSubBuckets = 1 << Histogram::kSubBucketBits;
// Values below kExactLimit get one bucket each; above it every power of two
// [2^b, 2^(b+1)) is split into kSubBuckets equal parts, starting at b = kFirstSplitBit.
constexpr int kFirstSplitBit = Histogram::kSubBucketBits + 1;
constexpr uint64_t kExactLimit = uint64_t{1} << kFirstSplitBit;

constexpr int index_of(uint64_t value) {
  if (value < kExactLimit) return static_cast<int>(value);
  const int top_bit = std::bit_width(value) - 1;
  const int shift = top_bit - Histogram::kSubBucketBits;
  const int sub = static_cast<int>((value >> shift) & (kSubBuckets - 1));
  return static_cast<int>(kExactLimit) + (top_bit - kFirstSplitBit) * kSubBuckets + sub;
}

constexpr uint64_t upper_bound_of(int index) {
  if (index < static_cast<int>(kExactLimit)) return static_cast<uint64_t>(index);
  const int split = index - static_cast<int>(kExactLimit);
  const int top_bit = split / kSubBuckets + kFirstSplitBit;
  const uint64_t sub = static_cast<uint64_t>(split % kSubBuckets);
  const int shift = top_bit - Histogram::kSubBucketBits;
  const uint64_t lower = (uint64_t{1} << top_bit) + (sub << shift);
  // Add width - 1 rather than width, then subtract: the last bucket ends at UINT64_MAX.
  return lower + ((uint64_t{1} << shift) - 1);
}

// The layout must cover every uint64_t with exactly kBucketCount buckets.
static_assert(index_of(UINT64_MAX) == Histogram::kBucketCount - 1);
static_assert(upper_bound_of(Histogram::kBucketCount - 1) == UINT64_MAX);
static_assert(index_of(kExactLimit) == static_cast<int>(kExactLimit));
static_assert(upper_bound_of(static_cast<int>(kExactLimit)) == kExactLimit + 1);

// The sum saturates instead of wrapping, so that a huge outlier cannot make mean()
// report a small number.
uint64_t saturating_add(uint64_t a, uint64_t b) {
  return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

}  // namespace

int Histogram::bucket_index(uint64_t value) { return index_of(value); }

uint64_t Histogram::bucket_upper_bound(int index) {
  assert(index >= 0 && index < kBucketCount);
  return upper_bound_of(index);
}

void Histogram::record(uint64_t value) {
  ++buckets_[static_cast<size_t>(index_of(value))];
  ++count_;
  sum_ = saturating_add(sum_, value);
  if (value < min_) min_ = value;
  if (value > max_) max_ = value;
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ = saturating_add(sum_, other.sum_);
  if (other.min_ < min_) min_ = other.min_;
  if (other.max_ > max_) max_ = other.max_;
}

void Histogram::clear() { *this = Histogram(); }

double Histogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  if (!(p > 0.0)) p = 0.0;  // also catches NaN
  if (p > 100.0) p = 100.0;
  // Nearest rank: the smallest rank r (1-based) with r >= p% of count.
  const double wanted = std::ceil(p / 100.0 * static_cast<double>(count_));
  uint64_t rank =
      wanted >= static_cast<double>(count_) ? count_ : static_cast<uint64_t>(wanted);
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    seen += buckets_[static_cast<size_t>(i)];
    if (seen >= rank) {
      const uint64_t bound = upper_bound_of(i);
      if (bound < min_) return min_;
      if (bound > max_) return max_;
      return bound;
    }
  }
  return max_;  // unreachable while the buckets add up to count_
}

std::string Histogram::summary() const {
  return core::guard_value([&]() -> std::string {
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "count=%" PRIu64 " mean=%.1f p50=%" PRIu64 " p99=%" PRIu64
                  " p99.9=%" PRIu64 " max=%" PRIu64,
                  count_, mean(), percentile(50), percentile(99), percentile(99.9),
                  max());
    return buf;
  });
}

}  // namespace kaya
