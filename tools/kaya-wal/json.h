// A minimal JSON object builder for kaya-wal's --json output (one object per line or
// per command). Members appear in the order they are added.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kaya/core/json.h"
#include "kaya/core/types.h"
#include "kaya/wal/recovery.h"

namespace kaya::tool {

// The shared builder (str, num, real, boolean, null, raw, build) plus the members
// only the tool writes.
class JsonObject final : public json::ObjectBuilder<JsonObject> {
 public:
  // A number, or null when absent.
  JsonObject& opt(std::string_view key, std::optional<uint64_t> value);
  JsonObject& opt(std::string_view key, std::optional<Lsn> value);
  // Data that must round-trip: "<key>": "<text>" when `bytes` is valid UTF-8, else
  // "<key>_hex": "<lower-case hex of every byte>".
  JsonObject& bytes(std::string_view key, std::string_view bytes);
};

// "[a,b,...]" from already-encoded JSON values.
std::string json_array(const std::vector<std::string>& items);

// "torn_tail", "corruption", "lost_after_hole", "newer_format" or "over_limit".
std::string_view anomaly_kind_name(wal::AnomalyKind kind);
// {"kind","segment_id","offset","lsn","reason"}: an anomaly, as recover and inspect
// print it.
std::string anomaly_json(const wal::Anomaly& anomaly);

}  // namespace kaya::tool
