// The line parser of `kaya-wal write` (see line_parser.h).
#include "line_parser.h"

#include "escape.h"

namespace kaya::tool {
namespace {

Error bad_line(std::string message) {
  return Error(ErrorKind::kInvalidArgument, std::move(message));
}

// KEY up to the next space (which must exist when `needs_rest`), then the rest. KEY
// may be empty (the format allows it, and engines have such keys): nothing between
// the command's space and the next one.
Status split_key(std::string_view text, size_t column, bool needs_rest, Line& out,
                 std::string_view* rest) {
  const size_t space = text.find(' ');
  const std::string_view key = text.substr(0, space);
  if (needs_rest && space == std::string_view::npos) {
    return bad_line(
        "put needs KEY, a space and VALUE (\"put KEY \" with a trailing space writes "
        "an empty value, \"put  VALUE\" with two spaces an empty KEY)");
  }
  if (!needs_rest && space != std::string_view::npos) {
    return bad_line("unexpected text after KEY at column " +
                    std::to_string(column + space + 1) + " (a space in a key is \\x20)");
  }
  KAYA_ASSIGN_OR_RETURN(out.key, unescape_text(key, column));
  if (rest != nullptr) *rest = text.substr(space + 1);
  return ok_status();
}

}  // namespace

Result<std::optional<Line>> parse_line(std::string_view text) {
  if (text.empty() || text.front() == '#') return std::optional<Line>();
  const size_t space = text.find(' ');
  const std::string_view word = text.substr(0, space);
  const size_t arg_column = word.size() + 1;
  const std::string_view arg =
      space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
  Line line;
  if (word == "noop") {
    if (space != std::string_view::npos) return bad_line("noop takes no argument");
    line.type = wal::RecordType::kNoop;
  } else if (word == "delete") {
    // As for put: a forgotten KEY must not silently delete the empty key.
    if (space == std::string_view::npos) {
      return bad_line(
          "delete needs a space and KEY (\"delete \" with a trailing space deletes the "
          "empty KEY)");
    }
    line.type = wal::RecordType::kDelete;
    KAYA_RETURN_IF_ERROR(split_key(arg, arg_column, false, line, nullptr));
  } else if (word == "put") {
    line.type = wal::RecordType::kPut;
    std::string_view value;
    KAYA_RETURN_IF_ERROR(split_key(arg, arg_column, true, line, &value));
    KAYA_ASSIGN_OR_RETURN(line.value, unescape_text(value, text.size() - value.size()));
  } else if (word == "bytes") {
    if (space == std::string_view::npos) {
      return bad_line("bytes needs a space and DATA (\"bytes \" writes an empty one)");
    }
    line.type = wal::RecordType::kBytes;
    KAYA_ASSIGN_OR_RETURN(line.value, unescape_text(arg, arg_column));
  } else if (text.find_first_not_of(' ') == std::string_view::npos) {
    return bad_line(
        "the line holds only spaces (a blank line must be empty; a comment starts with "
        "#)");
  } else if (word.empty()) {
    return bad_line(
        "the line starts with a space: the command (put, delete, noop or bytes) comes "
        "first");
  } else {
    return bad_line("unknown command \"" + quote_input(word) +
                    "\" (expected put, delete, noop or bytes)");
  }
  return std::optional<Line>(std::move(line));
}

}  // namespace kaya::tool
