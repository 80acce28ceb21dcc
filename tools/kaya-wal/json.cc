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

std::string anomaly_json(const wal::Anomaly& a) {
  return JsonObject()
      .str("kind", a.kind == wal::AnomalyKind::kTornTail ? "torn_tail" : "corruption")
      .num("segment_id", a.segment_id)
      .num("offset", a.offset)
      .opt("lsn", a.lsn)
      .str("reason", a.reason)
      .build();
}

}  // namespace kaya::tool
