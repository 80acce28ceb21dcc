#include "json.h"

#include "escape.h"

namespace kaya::tool {

JsonObject& JsonObject::opt(std::string_view key, std::optional<uint64_t> value) {
  return value ? num(key, *value) : null(key);
}

JsonObject& JsonObject::opt(std::string_view key, std::optional<Lsn> value) {
  return value ? num(key, value->value()) : null(key);
}

JsonObject& JsonObject::bytes(std::string_view key, std::string_view bytes) {
  if (is_valid_utf8(bytes)) return str(key, bytes);
  // Built by appending: g++ 12 -O3 warns (falsely, -Wrestrict) on "\"" + string.
  std::string hex = "\"";
  hex += to_hex(bytes);
  hex += '"';
  std::string name(key);
  name += "_hex";
  return raw(name, hex);
}

std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += items[i];
  }
  return out + "]";
}

std::string_view anomaly_kind_name(wal::AnomalyKind kind) {
  switch (kind) {
    case wal::AnomalyKind::kTornTail:
      return "torn_tail";
    case wal::AnomalyKind::kCorruption:
      return "corruption";
    case wal::AnomalyKind::kLostAfterHole:
      return "lost_after_hole";
    case wal::AnomalyKind::kNewerFormat:
      return "newer_format";
    case wal::AnomalyKind::kOverLimit:
      return "over_limit";
  }
  return "unknown";
}

std::string anomaly_json(const wal::Anomaly& a) {
  return JsonObject()
      .str("kind", anomaly_kind_name(a.kind))
      .num("segment_id", a.segment_id)
      .num("offset", a.offset)
      .opt("lsn", a.lsn)
      .str("reason", a.reason)
      .build();
}

}  // namespace kaya::tool
