/// @file
/// JSON text as kaya writes it: UTF-8 validation, string quoting and an object builder.
/// The library's metrics (kaya/wal/metrics.h: to_json) and the Prometheus serialiser's
/// errors use them, and so does the `kaya-wal` tool's --json output, so that a program
/// putting its own members next to kaya's writes them the same way. Members appear in
/// the order they are added; nothing is pretty-printed. Pure functions, thread-safe.
/// They allocate like std::string: when memory runs out, std::bad_alloc propagates (as
/// from any standard type), unlike the library's calls, which return an error.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "kaya/core/export.h"

/// JSON text (RFC 8259) as kaya writes it.
namespace kaya::json {

/// Whether `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at
/// most U+10FFFF).
KAYA_API bool is_valid_utf8(std::string_view bytes);

/// `text` as a quoted JSON string: a quote, a backslash and the control bytes are
/// escaped (line feed, tab and carriage return by their letters, the others as a
/// four-digit code point); bytes that are not valid UTF-8 become U+FFFD, so use it for
/// names and messages, not for data that must round-trip.
KAYA_API std::string json_quote(std::string_view text);

/// A JSON object built member by member, in the order added. `Self` is the derived
/// builder, so that calls chain on it (a program adds member kinds of its own by
/// deriving, as the kaya-wal tool does); json::Object is the plain one. Keys are quoted
/// with json_quote(); repeated keys are not detected.
template <typename Self>
class ObjectBuilder {
 public:
  /// Adds "key": json. `json` must already be valid JSON (it is copied as it is).
  Self& raw(std::string_view key, std::string_view json) {
    if (!body_.empty()) body_ += ',';
    body_ += json_quote(key);
    body_ += ':';
    body_ += json;
    return static_cast<Self&>(*this);
  }
  /// Adds "key": "value", quoted with json_quote().
  Self& str(std::string_view key, std::string_view value) {
    return raw(key, json_quote(value));
  }
  /// Adds "key": value as a decimal integer.
  Self& num(std::string_view key, uint64_t value) {
    return raw(key, std::to_string(value));
  }
  /// Adds "key": value with 3 decimals; null for NaN or infinity (a rate over a zero
  /// duration), which JSON cannot express.
  Self& real(std::string_view key, double value) {
    if (!std::isfinite(value)) return null(key);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.3f", value);
    return raw(key, buf);
  }
  /// Adds "key": true or false.
  Self& boolean(std::string_view key, bool value) {
    return raw(key, value ? "true" : "false");
  }
  /// Adds "key": null.
  Self& null(std::string_view key) { return raw(key, "null"); }

  /// The object: "{" the members "}".
  std::string build() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

/// The plain object builder.
class Object final : public ObjectBuilder<Object> {};

}  // namespace kaya::json
