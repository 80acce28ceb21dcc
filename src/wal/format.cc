#include "kaya/wal/format.h"

#include <cstdio>

namespace kaya::wal {

uint16_t format_version() { return format::kVersion; }

std::string_view to_string(RecordType type) {
  switch (type) {
    case RecordType::kPut:
      return "put";
    case RecordType::kDelete:
      return "delete";
    case RecordType::kNoop:
      return "noop";
    case RecordType::kBytes:
      return "bytes";
  }
  return "unknown";
}

bool is_known_record_type(uint16_t raw) {
  return raw >= static_cast<uint16_t>(RecordType::kPut) &&
         raw <= static_cast<uint16_t>(RecordType::kBytes);
}

namespace format {

std::string segment_path(uint64_t segment_id) {
  // By hand, not snprintf: the writer names its segment at every write and fsync.
  static constexpr char kHex[] = "0123456789abcdef";
  char name[kSegmentIdDigits];
  for (size_t i = kSegmentIdDigits; i-- > 0; segment_id >>= 4) {
    name[i] = kHex[segment_id & 0xf];
  }
  std::string path;
  path.reserve(kSegmentDir.size() + 1 + kSegmentIdDigits + kSegmentSuffix.size());
  path += kSegmentDir;
  path += '/';
  path.append(name, kSegmentIdDigits);
  path += kSegmentSuffix;
  return path;
}

std::optional<uint64_t> parse_segment_file_name(std::string_view name) {
  if (name.size() != kSegmentIdDigits + kSegmentSuffix.size() ||
      name.substr(kSegmentIdDigits) != kSegmentSuffix) {
    return std::nullopt;
  }
  uint64_t id = 0;
  for (char c : name.substr(0, kSegmentIdDigits)) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    id = (id << 4) | static_cast<uint64_t>(digit);
  }
  if (id < kFirstSegmentId) return std::nullopt;
  return id;
}

}  // namespace format
}  // namespace kaya::wal
