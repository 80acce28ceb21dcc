// kaya-wal: inspect, check, repair and exercise a kaya write-ahead log.
// Usage and formats: `kaya-wal --help`, `kaya-wal COMMAND --help`, docs/tool.md.
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "escape.h"
#include "kaya/core/status.h"
#include "kaya/core/version.h"
#include "kaya/wal/format.h"

namespace {

constexpr std::string_view kUsage =
    R"(kaya-wal: inspect, check, repair and exercise a kaya write-ahead log

usage: kaya-wal COMMAND [ARGS...] [--help | -h]
       kaya-wal --help      (or -h, or `kaya-wal help`): this text
       kaya-wal --version   (or `kaya-wal version`)

commands:
  write DIR     append records read from stdin (put/delete/noop lines), one ack per line
  dump PATH     print the records of a log in LSN order, or of one segment file (e.g.
                one in wal/lost/); --json: one object per line
  inspect PATH  describe each segment of a log, or one segment file
  verify DIR    check a log, read-only: would it recover without loss?
  recover DIR   run recovery (or --dry-run) and print its report
  truncate DIR --after LSN
                remove the records after LSN, durably (the next one gets LSN + 1)
  bench         measure append throughput and commit latency next to raw
                pwrite+fdatasync

DIR is the directory that holds the log's wal/ directory. dump, inspect and verify
never change a byte; recover changes nothing with --dry-run; truncate removes
records.

exit codes: 0 ok, 1 I/O error, 2 not found, 3 corruption, 4 invalid argument or usage,
            5 invariant violation, 6 lock conflict (another writer has the log open)
Errors are printed on stderr as one line starting with "error:".

Run `kaya-wal COMMAND --help` for a command's flags and output; docs/tool.md has the
details (escaping, JSON formats).
)";

struct Command {
  std::string_view name;
  int (*run)(const kaya::tool::CommandArgs&);
};

constexpr Command kCommands[] = {
    {"write", kaya::tool::run_write},     {"dump", kaya::tool::run_dump},
    {"inspect", kaya::tool::run_inspect}, {"verify", kaya::tool::run_verify},
    {"recover", kaya::tool::run_recover}, {"truncate", kaya::tool::run_truncate},
    {"bench", kaya::tool::run_bench},
};

}  // namespace

namespace {

int run(int argc, char** argv) {
  const int usage_exit = kaya::tool::exit_code_for(kaya::ErrorKind::kInvalidArgument);
  if (argc < 2) {
    std::fprintf(stderr, "error: kaya-wal: missing command (see kaya-wal --help)\n");
    return usage_exit;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
    return 0;
  }
  if (name == "--version" || name == "version") {
    if (argc > 2) {
      std::fprintf(stderr, "error: kaya-wal: %s takes no argument\n", argv[1]);
      return usage_exit;
    }
    // The library linked at run time: what reads and writes the log.
    const std::string_view library = kaya::version();
    std::printf("kaya-wal %.*s (log record format version %u)\n",
                static_cast<int>(library.size()), library.data(),
                static_cast<unsigned>(kaya::wal::format_version()));
    return 0;
  }
  for (const Command& c : kCommands) {
    if (c.name == name) {
      return c.run(kaya::tool::CommandArgs(argv + 2, argv + argc));
    }
  }
  std::fprintf(stderr, "error: kaya-wal: unknown command \"%s\" (see kaya-wal --help)\n",
               kaya::tool::quote_input(name).c_str());
  return usage_exit;
}

}  // namespace

int main(int argc, char** argv) {
  // No exception leaves the library; the tool's own code (reading a huge stdin line,
  // building its output) can still run out of memory: that is an error, not an abort.
  // Everything acknowledged before it stays acknowledged (the writer is closed as the
  // stack unwinds).
  int code = 1;
  try {
    code = run(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fputs("error: Internal: out of memory\n", stderr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: Internal: %s\n", e.what());
  } catch (...) {
    std::fputs("error: Internal: unknown exception\n", stderr);
  }
  // Whatever the command printed must have reached stdout: a failed write, flush or
  // close turns exit 0 into an I/O error.
  return kaya::tool::finish_stdout(code);
}
