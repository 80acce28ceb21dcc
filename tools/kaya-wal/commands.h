// The kaya-wal commands. Each takes the arguments after its name and returns the
// process exit code (0 ok; otherwise exit_code_for() of the error, see exit_codes.h).
#pragma once

#include <string>
#include <vector>

namespace kaya::tool {

using CommandArgs = std::vector<std::string>;

int run_write(const CommandArgs& args);     // cmd_write.cc
int run_dump(const CommandArgs& args);      // cmd_dump.cc
int run_inspect(const CommandArgs& args);   // cmd_inspect.cc
int run_verify(const CommandArgs& args);    // cmd_verify.cc
int run_recover(const CommandArgs& args);   // cmd_recover.cc
int run_truncate(const CommandArgs& args);  // cmd_truncate.cc
int run_bench(const CommandArgs& args);     // cmd_bench.cc

}  // namespace kaya::tool
