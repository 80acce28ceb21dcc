#include "kaya/core/json.h"

#include <cstdint>
#include <cstdio>

namespace kaya::json {
namespace {

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 if there is none.
size_t utf8_sequence_len(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xc0) == 0x80; };
  const uint8_t c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;   // overlong
    if (c == 0xed && b(1) >= 0xa0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xf4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;  // a continuation byte, 0xc0, 0xc1 or 0xf5..0xff
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = utf8_sequence_len(bytes.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_sequence_len(text.substr(i));
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    const auto b = static_cast<uint8_t>(text[i]);
    if (n == 1 && (b < 0x20 || b == 0x7f || b == '"' || b == '\\')) {
      switch (b) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\r':
          out += "\\r";
          break;
        default: {
          char u[8];
          std::snprintf(u, sizeof(u), "\\u%04x", b);
          out += u;
        }
      }
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out + "\"";
}

}  // namespace kaya::json
