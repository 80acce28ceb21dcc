/// @file
/// Log sequence numbers and engine sequence numbers.
#pragma once

#include <compare>
#include <cstdint>

#include "kaya/core/export.h"

namespace kaya {

/// A position in the log. The first record of a log has LSN 1; each record takes the
/// next one, with no gaps, across segments.
class Lsn {
 public:
  /// The first one, 1.
  constexpr Lsn() = default;
  /// The one numbered `value`.
  constexpr explicit Lsn(uint64_t value) : value_(value) {}
  /// The first one, 1.
  static constexpr Lsn first() { return Lsn(1); }

  /// The number.
  constexpr uint64_t value() const { return value_; }
  /// The one after this one.
  constexpr Lsn next() const { return Lsn(value_ + 1); }
  /// Ordered by value().
  constexpr auto operator<=>(const Lsn&) const = default;

 private:
  uint64_t value_ = 1;
};

/// The key-value engine's sequence number carried by each record. Starts at 1 and
/// advances by one per record, like the LSN, but an engine may open the writer at any
/// sequence (Writer::open_at) to keep its own numbering.
class SequenceNumber {
 public:
  /// The first one, 1.
  constexpr SequenceNumber() = default;
  /// The one numbered `value`.
  constexpr explicit SequenceNumber(uint64_t value) : value_(value) {}
  /// The first one, 1.
  static constexpr SequenceNumber first() { return SequenceNumber(1); }

  /// The number.
  constexpr uint64_t value() const { return value_; }
  /// The one after this one.
  constexpr SequenceNumber next() const { return SequenceNumber(value_ + 1); }
  /// Ordered by value().
  constexpr auto operator<=>(const SequenceNumber&) const = default;

 private:
  uint64_t value_ = 1;
};

}  // namespace kaya
