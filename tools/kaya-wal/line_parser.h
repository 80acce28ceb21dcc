// The stdin line format of `kaya-wal write` (see its --help): one record per line,
// "put KEY VALUE", "delete KEY", "noop" or "bytes DATA", with the escapes of escape.h.
// KEY and VALUE may be empty: "put  VALUE" (two spaces) puts the empty KEY, "put KEY "
// (trailing space) writes an empty VALUE, "delete " deletes the empty KEY; "put",
// "put KEY" and "delete" without those spaces are refused.
// Pure: no I/O, so the tests and fuzz/write_parser_fuzzer.cc can call it directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kaya/core/status.h"
#include "kaya/wal/format.h"

namespace kaya::tool {

// One parsed line: the record to append.
struct Line {
  wal::RecordType type = wal::RecordType::kNoop;
  std::string key;
  std::string value;

  bool operator==(const Line&) const = default;
};

// Parses one input line (without its line feed); nullopt for a line to skip (empty or
// starting with '#'). InvalidArgument naming the 1-based column for a malformed line.
Result<std::optional<Line>> parse_line(std::string_view text);

}  // namespace kaya::tool
