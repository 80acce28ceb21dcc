// Helpers of the kaya-wal write, dump and usage tests (write_test.cc, dump_test.cc,
// cli_test.cc): the tool's exit codes, a write run, and JSON lines parsed.
#pragma once

#include <string>
#include <vector>

#include "tools/json_lite.h"
#include "tools/tool_runner.h"

namespace kaya::tool::testing::write_dump {

// Runs `kaya-wal write <dir> <flags...>` with `input` on its standard input.
ToolResult write(const std::string& dir, const std::string& input,
                 std::vector<std::string> flags = {});

// The JSON values of `text`, one a line; a parse error fails the test.
std::vector<Json> json_lines(const std::string& text);

}  // namespace kaya::tool::testing::write_dump
