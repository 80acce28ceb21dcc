#include "json.h"

#include <cmath>
#include <cstdio>

#include "escape.h"

namespace kaya::tool {

JsonObject& JsonObject::member(std::string_view key, std::string_view json) {
  if (!body_.empty()) body_ += ',';
  body_ += json_quote(key);
  body_ += ':';
  body_ += json;
  return *this;
}

JsonObject& JsonObject::str(std::string_view key, std::string_view value) {
  return member(key, json_quote(value));
}

JsonObject& JsonObject::num(std::string_view key, uint64_t value) {
  return member(key, std::to_string(value));
}

JsonObject& JsonObject::real(std::string_view key, double value) {
  // JSON has no NaN or infinity (a rate over a zero duration).
  if (!std::isfinite(value)) return member(key, "null");
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f", value);
  return member(key, buf);
}

JsonObject& JsonObject::boolean(std::string_view key, bool value) {
  return member(key, value ? "true" : "false");
}

JsonObject& JsonObject::null(std::string_view key) { return member(key, "null"); }

JsonObject& JsonObject::opt(std::string_view key, std::optional<uint64_t> value) {
  return value ? num(key, *value) : null(key);
}

JsonObject& JsonObject::opt(std::string_view key, std::optional<Lsn> value) {
  return value ? num(key, value->value()) : null(key);
}

JsonObject& JsonObject::raw(std::string_view key, std::string_view json) {
  return member(key, json);
}

JsonObject& JsonObject::bytes(std::string_view key, std::string_view bytes) {
  if (is_valid_utf8(bytes)) return member(key, json_quote(bytes));
  // Built by appending: g++ 12 -O3 warns (falsely, -Wrestrict) on "\"" + string.
  std::string hex = "\"";
  hex += to_hex(bytes);
  hex += '"';
  std::string name(key);
  name += "_hex";
  return member(name, hex);
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
