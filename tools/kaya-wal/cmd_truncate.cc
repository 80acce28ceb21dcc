// kaya-wal truncate: removes the records after an LSN through Writer::truncate_after.
#include <cstdio>
#include <string>

#include "cli.h"
#include "commands.h"
#include "json.h"
#include "kaya/wal/writer.h"

namespace kaya::tool {
namespace {

constexpr std::string_view kHelp =
    R"(usage: kaya-wal truncate DIR --after LSN [--json] [--max-record-bytes N]

Removes every record of the log in DIR whose LSN is above LSN, durably: a crash at any
instant leaves the log as it was or truncated, never a hole or a mix (docs/truncation.md).
The log is opened as a writer would open it (recovery first: a torn tail is cut, a
corrupt log is refused), truncated, and closed. The next record appended gets LSN + 1;
the LSNs after LSN are handed out again, and readers opened before the truncation fail
with an error naming the log's new truncation epoch.

LSN may be the log's first LSN - 1, which empties the log (its next LSN stays the
first LSN), up to its last LSN (nothing to remove). Prints:

  truncated after LSN <n>: removed <r> records (<s> segment files), next LSN <n+1>,
  truncation epoch <e>

Exit: 0 ok, 4 LSN beyond the end of the log or below its first LSN - 1 (nothing
changed), 6 a writer holds the log (nothing changed), 3 corruption (nothing changed),
2 when DIR holds no log, 1 I/O error.

flags:
  --after LSN           keep the records up to LSN (required)
  --json                one object: {"path","ok":true,"truncated_after","next_lsn",
                        "records_removed","segments_removed","epoch"}
  --max-record-bytes N  the writer's record limit, when it was raised above 32 MiB
)";

}  // namespace

int run_truncate(const CommandArgs& argv) {
  auto check_after = [](const Args& args) -> Status {
    if (!args.has("after")) {
      return Error(ErrorKind::kInvalidArgument,
                   "--after LSN is required (the last LSN to keep)");
    }
    return args.u64("after", 0).status();
  };
  int code = kExitOk;
  std::optional<LogCommand> cmd =
      LogCommand::start("truncate", kHelp, argv, {{"after", true}}, code, check_after);
  if (!cmd) return code;
  const Result<uint64_t> after = cmd->args().u64("after", 0);  // checked above

  const std::string& dir = cmd->path();
  auto disk = cmd->open_dir();
  if (!disk.ok()) return cmd->fail(disk.error());
  auto writer = wal::Writer::open(cmd->config(), **disk);
  if (!writer.ok()) return cmd->fail(writer.error(), "truncate " + dir);
  Result<wal::TruncateReport> report = (*writer)->truncate_after(Lsn(*after));
  Status closed = (*writer)->close();
  if (!report.ok()) return cmd->fail(report.error(), "truncate " + dir);
  if (!closed.ok()) return cmd->fail(closed.error(), "truncate " + dir);
  if (cmd->json()) {
    std::printf("%s\n", JsonObject()
                            .str("path", dir)
                            .boolean("ok", true)
                            .num("truncated_after", *after)
                            .num("next_lsn", report->next_lsn.value())
                            .num("records_removed", report->records_removed)
                            .num("segments_removed", report->segments_removed)
                            .num("epoch", report->epoch)
                            .build()
                            .c_str());
  } else {
    std::printf(
        "truncated after LSN %llu: removed %llu records (%llu segment files), next LSN "
        "%llu, truncation epoch %u\n",
        static_cast<unsigned long long>(*after),
        static_cast<unsigned long long>(report->records_removed),
        static_cast<unsigned long long>(report->segments_removed),
        static_cast<unsigned long long>(report->next_lsn.value()),
        static_cast<unsigned>(report->epoch));
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace kaya::tool
