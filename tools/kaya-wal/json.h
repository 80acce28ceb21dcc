// A minimal JSON object builder for kaya-wal's --json output (one object per line or
// per command). Members appear in the order they are added.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kaya/core/types.h"
#include "kaya/wal/recovery.h"

namespace kaya::tool {

class JsonObject {
 public:
  JsonObject& str(std::string_view key, std::string_view value);
  JsonObject& num(std::string_view key, uint64_t value);
  JsonObject& real(std::string_view key, double value);  // 3 decimals
  JsonObject& boolean(std::string_view key, bool value);
  JsonObject& null(std::string_view key);
  // A number, or null when absent.
  JsonObject& opt(std::string_view key, std::optional<uint64_t> value);
  JsonObject& opt(std::string_view key, std::optional<Lsn> value);
  // `json` must already be valid JSON (an object or array built here).
  JsonObject& raw(std::string_view key, std::string_view json);
  // Data that must round-trip: "<key>": "<text>" when `bytes` is valid UTF-8, else
  // "<key>_hex": "<lower-case hex of every byte>".
  JsonObject& bytes(std::string_view key, std::string_view bytes);

  std::string build() const { return "{" + body_ + "}"; }

 private:
  JsonObject& member(std::string_view key, std::string_view json);
  std::string body_;
};

// "[a,b,...]" from already-encoded JSON values.
std::string json_array(const std::vector<std::string>& items);

// {"kind","segment_id","offset","lsn","reason"}: an anomaly, as recover and inspect
// print it.
std::string anomaly_json(const wal::Anomaly& anomaly);

}  // namespace kaya::tool
