// JSON text helpers shared by the metrics serialiser (src/wal/metrics.cc) and the
// kaya-wal tool's --json output: UTF-8 validation and string quoting. Internal: not
// installed, not exported from the shared library.
#pragma once

#include <string>
#include <string_view>

namespace kaya::json {

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

// `text` as a quoted JSON string. Bytes that are not valid UTF-8 become U+FFFD.
std::string json_quote(std::string_view text);

}  // namespace kaya::json
