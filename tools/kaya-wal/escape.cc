#include "escape.h"

#include <cstdint>
#include <cstdio>

namespace kaya::tool {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Inlined even unoptimised: plain_run() calls it for every byte of a line.
[[gnu::always_inline]] inline bool is_control(uint8_t b) { return b < 0x20 || b == 0x7f; }

// The length of the run of bytes from `from` that stand for themselves: escape_text()
// and unescape_text() copy such a run with one append (a value of many megabytes is
// one line, and a call per byte was most of the time spent on it).
// With `for_output` the run is what escape_text() leaves as is, else what
// unescape_text() takes as is.
size_t plain_run(std::string_view bytes, size_t from, bool for_output,
                 bool escape_space) {
  // Plain pointers and no calls in the loop: unoptimised (sanitizer) builds run it too.
  const auto* const begin = reinterpret_cast<const uint8_t*>(bytes.data()) + from;
  const auto* const end = reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size();
  const uint8_t* p = begin;
  for (; p < end; ++p) {
    const uint8_t b = *p;
    if (b == '\\' || is_control(b)) break;
    if (for_output && (b >= 0x80 || (escape_space && b == ' '))) break;
  }
  return static_cast<size_t>(p - begin);
}

void append_hex_escape(std::string& out, uint8_t b) {
  out += "\\x";
  out += kHexDigits[b >> 4];
  out += kHexDigits[b & 0xf];
}

}  // namespace

std::string escape_text(std::string_view bytes, bool escape_space) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (const size_t run = plain_run(bytes, i, true, escape_space); run > 0) {
      out.append(bytes.data() + i, run);
      i += run - 1;
      continue;
    }
    const char ch = bytes[i];
    const auto b = static_cast<uint8_t>(ch);
    switch (ch) {
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\r':
        out += "\\r";
        continue;
      default:
        break;
    }
    append_hex_escape(out, b);  // not plain (plain_run()) and no named escape
  }
  return out;
}

std::string quote_input(std::string_view bytes, size_t max_bytes) {
  if (bytes.size() <= max_bytes) return escape_text(bytes, false);
  return escape_text(bytes.substr(0, max_bytes), false) + "... (" +
         std::to_string(bytes.size()) + " bytes)";
}

Result<std::string> unescape_text(std::string_view text, size_t column_base) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (const size_t run = plain_run(text, i, false, false); run > 0) {
      out.append(text.data() + i, run);
      i += run - 1;
      continue;
    }
    const auto b = static_cast<uint8_t>(text[i]);
    // Formatted only for an error: a value of many megabytes is one line.
    const size_t at = i;
    auto column = [&] { return std::to_string(column_base + at + 1); };
    if (is_control(b)) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02x", b);
      return Error(ErrorKind::kInvalidArgument,
                   "raw control byte " + std::string(hex) + " at column " + column() +
                       " (write it as \\xHH, or \\n, \\t, \\r)");
    }
    // Not plain (plain_run()) and not a control byte: a backslash.
    if (i + 1 == text.size()) {
      return Error(ErrorKind::kInvalidArgument, "lone backslash at column " + column() +
                                                    " (write \\\\ for a backslash)");
    }
    const char e = text[++i];
    if (e == '\\') {
      out += '\\';
    } else if (e == 'n') {
      out += '\n';
    } else if (e == 't') {
      out += '\t';
    } else if (e == 'r') {
      out += '\r';
    } else if (e == 'x' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      return Error(ErrorKind::kInvalidArgument,
                   "bad escape \"\\" + std::string(text.substr(i, e == 'x' ? 3 : 1)) +
                       "\" at column " + column() +
                       " (escapes are \\\\, \\n, \\t, \\r and \\xHH)");
    }
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    const auto b = static_cast<uint8_t>(ch);
    out += kHexDigits[b >> 4];
    out += kHexDigits[b & 0xf];
  }
  return out;
}

}  // namespace kaya::tool
