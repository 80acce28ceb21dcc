/// @file
/// FaultKind and FaultSchedule: which injected faults a test disk fires, and when.
///
/// SimDisk (in memory) and FaultDisk (around a real disk) inject the same faults by the
/// same rules; this is those rules, written once. A schedule holds, per fault kind, a
/// countdown ("fail the n-th next operation of this kind") and a probability per
/// operation, and counts the faults it fired. An operation that can suffer a kind asks
/// fire(kind); an append or write_at asks write_fault(), which consults the write kinds
/// in the order kWriteError, kDiskFull, kShortWrite and stops at the first that fires.
///
/// Not thread-safe: its owner guards it with its own mutex.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "kaya/core/export.h"

namespace kaya::io {

/// The faults SimDisk and FaultDisk inject.
enum class FaultKind {
  kFsyncFailure,  ///< fsync_file / fsync_dir fail with FsyncFailed; nothing becomes
                  ///< durable
  kReadError,     ///< read_at fails with Io
  kWriteError,    ///< append / write_at fail with Io before writing anything
  kDiskFull,      ///< append / write_at fail with DiskFull before writing anything
  kShortWrite,    ///< append / write_at write a strict prefix, then fail with Io
};
/// Number of FaultKind values.
inline constexpr int kFaultKindCount = 5;
/// "FsyncFailure", "ReadError", "WriteError", "DiskFull" or "ShortWrite".
KAYA_API std::string_view to_string(FaultKind kind);

/// Per-kind countdowns and probabilities, and the count of faults fired (see the file
/// comment).
class FaultSchedule {
 public:
  /// The n-th next operation that can suffer `kind` fails with it (0 cancels).
  /// Replaces an earlier countdown for the same kind.
  void fail_nth(FaultKind kind, uint64_t n) { nth_[index(kind)] = n; }
  /// Each operation that can suffer `kind` fails with it with `probability` (0: never).
  void set_probability(FaultKind kind, double probability) {
    probability_[index(kind)] = probability;
  }
  /// Cancels every countdown and probability (the counts are kept).
  void clear() {
    nth_.fill(0);
    probability_.fill(0);
  }
  /// Faults of `kind` fired so far.
  uint64_t fired(FaultKind kind) const { return fired_[index(kind)]; }

  /// Consumes one operation of `kind`: true when its countdown reaches zero or, failing
  /// that and only when the kind has a probability, when `unit()` (a draw in [0, 1))
  /// falls below it. `unit` is not called otherwise, so a seeded caller's random
  /// sequence depends only on the probabilities it set.
  template <typename Unit>
  bool fire(FaultKind kind, Unit&& unit) {
    const size_t i = index(kind);
    bool fires = false;
    if (nth_[i] > 0) fires = --nth_[i] == 0;
    if (!fires && probability_[i] > 0) fires = unit() < probability_[i];
    if (fires) ++fired_[i];
    return fires;
  }
  /// fire() without probabilities (a schedule that only counts down).
  bool fire(FaultKind kind) {
    return fire(kind, [] { return 1.0; });
  }

  /// The first of kWriteError, kDiskFull, kShortWrite that fires for one append or
  /// write_at; the kinds after it are not consulted.
  template <typename Unit>
  std::optional<FaultKind> write_fault(Unit&& unit) {
    for (FaultKind kind :
         {FaultKind::kWriteError, FaultKind::kDiskFull, FaultKind::kShortWrite}) {
      if (fire(kind, unit)) return kind;
    }
    return std::nullopt;
  }
  /// write_fault() without probabilities.
  std::optional<FaultKind> write_fault() {
    return write_fault([] { return 1.0; });
  }

 private:
  static size_t index(FaultKind kind) { return static_cast<size_t>(kind); }

  std::array<uint64_t, kFaultKindCount> nth_{};  // 0: nothing scheduled
  std::array<double, kFaultKindCount> probability_{};
  std::array<uint64_t, kFaultKindCount> fired_{};
};

}  // namespace kaya::io
