// JSON text helpers shared by the metrics serialiser (src/wal/metrics.cc) and the
// kaya-wal tool's --json output: UTF-8 validation, string quoting and the object builder.
// The Prometheus serialiser (src/wal/prometheus.cc) checks label values and quotes
// label names in its errors with them.
// Internal: not installed, not exported from the shared library.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kaya::json {

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

// `text` as a quoted JSON string. Bytes that are not valid UTF-8 become U+FFFD.
std::string json_quote(std::string_view text);

// A JSON object built member by member, in the order added. `Self` is the builder
// (the tool's JsonObject adds members of its own) so that calls chain; Object below is
// the plain one.
template <typename Self>
class ObjectBuilder {
 public:
  // `json` must already be valid JSON.
  Self& raw(std::string_view key, std::string_view json) {
    if (!body_.empty()) body_ += ',';
    body_ += json_quote(key);
    body_ += ':';
    body_ += json;
    return static_cast<Self&>(*this);
  }
  Self& str(std::string_view key, std::string_view value) {
    return raw(key, json_quote(value));
  }
  Self& num(std::string_view key, uint64_t value) {
    return raw(key, std::to_string(value));
  }
  // 3 decimals; null for NaN or infinity (a rate over a zero duration), which JSON
  // cannot express.
  Self& real(std::string_view key, double value) {
    if (!std::isfinite(value)) return null(key);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.3f", value);
    return raw(key, buf);
  }
  Self& boolean(std::string_view key, bool value) {
    return raw(key, value ? "true" : "false");
  }
  Self& null(std::string_view key) { return raw(key, "null"); }

  std::string build() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

class Object final : public ObjectBuilder<Object> {};

}  // namespace kaya::json
