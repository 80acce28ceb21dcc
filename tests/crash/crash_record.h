// The records the crash child appends, shared by the child and the test so that the
// test can recompute every record from its key: run `r`, thread `t`, counter `c`.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "testing/strings.h"

namespace kaya::crash {

struct RecordId {
  uint64_t run = 0;
  uint64_t thread = 0;
  uint64_t counter = 0;
  bool operator==(const RecordId&) const = default;
};

inline uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline uint64_t record_hash(uint64_t seed, const RecordId& id) {
  return mix(mix(mix(seed ^ id.run) ^ id.thread) ^ id.counter);
}

// "r<run>/t<thread>/c<counter>"
inline std::string record_key(const RecordId& id) {
  return kaya::testing::cat("r", std::to_string(id.run), "/t", std::to_string(id.thread),
                            "/c", std::to_string(id.counter));
}

inline std::optional<RecordId> parse_key(std::string_view key) {
  RecordId id;
  uint64_t* fields[3] = {&id.run, &id.thread, &id.counter};
  const char tags[3] = {'r', 't', 'c'};
  const char* p = key.data();
  const char* end = key.data() + key.size();
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (p == end || *p != '/') return std::nullopt;
      ++p;
    }
    if (p == end || *p != tags[i]) return std::nullopt;
    auto [next, ec] = std::from_chars(p + 1, end, *fields[i]);
    if (ec != std::errc() || next == p + 1) return std::nullopt;
    p = next;
  }
  if (p != end || record_key(id) != key) return std::nullopt;  // canonical form only
  return id;
}

// Derived from the seed and the id: 0 to 300 bytes, or for half the counters that are
// multiples of 8, 2048 to 3839 bytes (a relaxed one is then written by its own
// appender, beside the others: sequencer.h, write_own). A batch takes consecutive
// counters, so it holds at most one large record and fits the test's segments.
inline std::string record_value(uint64_t seed, const RecordId& id) {
  uint64_t h = record_hash(seed, id);
  const bool large = id.counter % 8 == 0 && (h >> 32) % 2 == 0;
  std::string value(large ? 2048 + h % 1792 : h % 301, '\0');
  for (size_t i = 0; i < value.size(); ++i) {
    if (i % 8 == 0) h = mix(h);
    value[i] = static_cast<char>(h >> (8 * (i % 8)));
  }
  return value;
}

// Whether the record is appended strict (else relaxed). For a batch: its first record.
inline bool record_is_strict(uint64_t seed, const RecordId& id) {
  return (record_hash(seed, id) >> 40) % 3 == 0;
}

// How many records the append starting with record `id` appends: 1 (a plain append),
// or, for one append in four, an atomic batch of 2 to 5 records (counters
// id.counter .. id.counter + n - 1).
inline uint64_t batch_size(uint64_t seed, const RecordId& id) {
  const uint64_t h = record_hash(seed, id) >> 20;
  return h % 4 == 0 ? 2 + (h >> 8) % 4 : 1;
}

}  // namespace kaya::crash
