// The text escaping of kaya-wal's plain input and output, and JSON encoding.
//
// Plain text (`write` input, `dump` output), for KEY and VALUE:
//   \\  a backslash        \n  line feed (0x0a)      \t  tab (0x09)
//   \r  carriage return    \xHH  any byte (two hex digits, either case)
// Any other byte stands for itself, except that a raw control byte (0x00-0x1f, 0x7f)
// is refused on input (a stray carriage return from CRLF input must not end up in a
// value unnoticed). escape_text() writes bytes 0x80-0xff as \xHH, so dump output is
// plain ASCII whatever the data; --json shows UTF-8 text as text.
//
// JSON: strings are UTF-8 with the escapes of RFC 8259. Key and value bytes that are
// not valid UTF-8 go into a "<field>_hex" member (lower-case hex of every byte)
// instead of "<field>", so no byte is ever lost or guessed (see add_bytes()).
#pragma once

#include <string>
#include <string_view>

#include "kaya/core/json.h"
#include "kaya/core/status.h"

namespace kaya::tool {

// Escapes `bytes` for plain output. With `escape_space`, spaces become \x20 (a KEY is
// delimited by spaces).
std::string escape_text(std::string_view bytes, bool escape_space);

// Text the user gave, for an error message: escape_text(), cut to at most `max_bytes`
// of the input with "... (N bytes)" appended when longer, so that a 100 MB word on
// stdin never becomes a 100 MB error line.
std::string quote_input(std::string_view bytes, size_t max_bytes = 64);

// Reverses escape_text() (and accepts what a user types, see above). InvalidArgument
// naming the 1-based column, counted from `column_base` + 1, of a bad escape or a raw
// control byte.
Result<std::string> unescape_text(std::string_view text, size_t column_base);

// Well-formed UTF-8 (kaya/core/json.h, shared with the library's metrics JSON).
using json::is_valid_utf8;

// Lower-case hex of every byte: "00ff6b".
std::string to_hex(std::string_view bytes);

// `text` as a quoted JSON string. Bytes that are not valid UTF-8 become U+FFFD: use
// it for paths and messages, and add_bytes() for data that must round-trip.
using json::json_quote;

}  // namespace kaya::tool
