// kaya-wal verify: a read-only check that a log would recover without loss.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "inspection_text.h"
#include "json.h"
#include "kaya/wal/inspect.h"

namespace kaya::tool {
namespace {

constexpr std::string_view kHelp =
    R"(usage: kaya-wal verify DIR [--json] [--max-record-bytes N]

Checks every record of the log in DIR (checksums, lengths, LSN order within and
across segments, missing or empty segments) against the log's recovery point
(wal/RECOVERY_POINT), without changing a byte or taking a lock, and prints a one-line
summary:

  ok: DIR: 3 records, LSN 1..3, 1 segment, 147 bytes; clean; recovery keeps ...
  ok: DIR: ...; torn_tail; recovery keeps 1 record (next LSN 2) and drops a torn ...
  corrupt: DIR: ...; default recovery fails at segment 1 offset 57; ...

Damage at or below the recovery point is corruption. Beyond it, a torn tail (a write
cut short by a crash) and records after a hole (moved to wal/lost/ by recovery) are
reported but are not errors; while a writer holds the log they are reported as
being_written (writes in progress). A log without a
recovery point (written by KayaDB or kaya 0.1) is judged by what follows the damage.
docs/recovery.md has the whole decision table. A pending truncation (its intent
durable, a crash before it completed) is judged as recovery will complete it: the log
ends at its cut, and the summary says what it removes. Safe to run next to a live
writer.

Exit: 0 when the log would recover without losing an acknowledged record, 3 on
corruption (the error on stderr names segment, offset, LSN and reason), 4 when a
record needs a newer kaya or a larger --max-record-bytes, 2 when DIR holds no log.

--json prints one object:
  {"path", "ok": bool, "verdict": "clean"|"torn_tail"|"lost_after_hole"|
              "being_written"|"corrupt"|"newer_format"|"over_limit",
   "writer_active": bool,
   "pending_truncation": null|{"after","epoch","records","bytes","segments_removed",
                               "cut_segment_id","cut_offset"},
   "totals": {"segments","bytes","records","first_lsn","last_lsn",
              "recoverable_records","next_lsn","verdict"},
   "anomalies": [{"kind","segment_id","offset","lsn","reason"}]}

flags:
  --json                one JSON object instead of the summary line
  --max-record-bytes N  the writer's record limit, when it was raised above 32 MiB
                        and the log has no recovery point recording it
)";

}  // namespace

int run_verify(const CommandArgs& argv) {
  int code = kExitOk;
  std::optional<LogCommand> cmd = LogCommand::start("verify", kHelp, argv, {}, code);
  if (!cmd) return code;
  const std::string& dir = cmd->path();
  auto disk = cmd->open_dir();
  if (!disk.ok()) return cmd->fail(disk.error());
  Result<wal::LogInspection> log = wal::inspect_log(cmd->config(), **disk);
  if (!log.ok()) return cmd->fail(log.error());
  const std::optional<Error> failure = recovery_error(*log, dir);
  const bool ok = !failure.has_value();
  if (cmd->json()) {
    std::vector<std::string> anomalies;
    for (const wal::Anomaly& a : log->anomalies) anomalies.push_back(anomaly_json(a));
    std::printf("%s\n", JsonObject()
                            .str("path", dir)
                            .boolean("ok", ok)
                            .str("verdict", verdict(*log))
                            .boolean("writer_active", log->writer_active)
                            .raw("pending_truncation", pending_truncation_json(*log))
                            .raw("totals", totals_json(*log))
                            .raw("anomalies", json_array(anomalies))
                            .build()
                            .c_str());
  } else {
    const char* word = ok                                          ? "ok"
                       : failure->kind() == ErrorKind::kCorruption ? "corrupt"
                                                                   : "unreadable";
    std::printf("%s: %s: %s; %s; %s\n", word, dir.c_str(), totals_text(*log).c_str(),
                verdict(*log).c_str(), outlook_text(*log).c_str());
  }
  std::fflush(stdout);
  if (failure) return report_error(*failure);
  return kExitOk;
}

}  // namespace kaya::tool
