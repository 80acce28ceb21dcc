// Helpers of the kaya-wal write, dump and usage tests (write_dump_util.h).
#include "tools/write_dump_util.h"

#include <gtest/gtest.h>

namespace kaya::tool::testing::write_dump {

ToolResult write(const std::string& dir, const std::string& input,
                 std::vector<std::string> flags) {
  std::vector<std::string> args = {"write", dir};
  args.insert(args.end(), flags.begin(), flags.end());
  return run_tool(args, input);
}

std::vector<Json> json_lines(const std::string& text) {
  std::string error;
  std::vector<Json> out = parse_json_lines(text, &error);
  EXPECT_EQ(error, "") << text;
  return out;
}

}  // namespace kaya::tool::testing::write_dump
