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
  char name[kSegmentIdDigits + 1];
  std::snprintf(name, sizeof(name), "%016llx",
                static_cast<unsigned long long>(segment_id));
  std::string path(kSegmentDir);
  path += '/';
  path += name;
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
