// libFuzzer target: the stdin line parser of `kaya-wal write` (tools/kaya-wal/
// line_parser.h) on arbitrary lines.
//
// Checks (a failure aborts, which libFuzzer reports as a crash):
// - no crash; a refused line is InvalidArgument;
// - a parsed line written back the way `kaya-wal dump` escapes it (escape_text) parses
//   again into the same record, so dump's output is always valid write input;
// - escape_text() writes no raw control byte, and unescape_text() reverses it for any
//   bytes (the input itself taken as data).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "escape.h"
#include "line_parser.h"

namespace {

using kaya::tool::Line;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "write_parser_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

// The line `kaya-wal write` reads for `line`, escaped like `kaya-wal dump` prints it.
std::string to_input_line(const Line& line) {
  using kaya::tool::escape_text;
  switch (line.type) {
    case kaya::wal::RecordType::kPut:
      return "put " + escape_text(line.key, true) + " " + escape_text(line.value, false);
    case kaya::wal::RecordType::kDelete:
      return "delete " + escape_text(line.key, true);
    case kaya::wal::RecordType::kBytes:
      return "bytes " + escape_text(line.value, false);
    case kaya::wal::RecordType::kNoop:
      break;
  }
  return "noop";
}

bool has_raw_control(std::string_view text) {
  for (char ch : text) {
    const auto b = static_cast<uint8_t>(ch);
    if (b < 0x20 || b == 0x7f) return true;
  }
  return false;
}

void check_escape_round_trip(std::string_view bytes, bool escape_space) {
  const std::string escaped = kaya::tool::escape_text(bytes, escape_space);
  check(!has_raw_control(escaped), "escape_text wrote a raw control byte");
  check(!escape_space || escaped.find(' ') == std::string::npos,
        "escape_text left a space in a key");
  auto back = kaya::tool::unescape_text(escaped, 0);
  check(back.ok() && *back == bytes, "unescape_text(escape_text(x)) != x");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_escape_round_trip(text, size % 2 == 0);

  auto parsed = kaya::tool::parse_line(text);
  if (!parsed.ok()) {
    check(parsed.error().kind() == kaya::ErrorKind::kInvalidArgument,
          "a malformed line is not InvalidArgument");
    return 0;
  }
  if (!*parsed) {
    check(text.empty() || text.front() == '#', "skipped a line that is no comment");
    return 0;
  }
  const Line& line = **parsed;
  // An empty KEY is valid for put and delete ("put  VALUE", "delete "); only they
  // have one.
  check(line.type == kaya::wal::RecordType::kPut ||
            line.type == kaya::wal::RecordType::kDelete || line.key.empty(),
        "parsed a KEY for a record type without one");
  const std::string again_text = to_input_line(line);
  check(again_text.find('\n') == std::string::npos, "re-escaped line has a line feed");
  auto again = kaya::tool::parse_line(again_text);
  check(again.ok() && again->has_value(), "the re-escaped line does not parse");
  check(**again == line, "the re-escaped line parses into another record");
  return 0;
}
