// kaya-wal inspect: per-segment description of a log or of one segment file.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "inspection_text.h"
#include "json.h"
#include "kaya/io/rados_disk.h"
#include "kaya/wal/inspect.h"
#include "segment_file.h"

namespace kaya::tool {
namespace {

constexpr std::string_view kHelp =
    R"(usage: kaya-wal inspect PATH [--json] [--max-record-bytes N]

PATH is a log directory (the directory holding wal/) or one segment file. Prints, per
segment: id, size, record count, first and last LSN, and state, judged with the log's
recovery point (wal/RECOVERY_POINT; docs/recovery.md has the decision table):
  clean
  torn tail of N bytes at offset X: REASON   (beyond the recovery point; recovery
                                              cuts it)
  lost after a hole at offset X: REASON      (records after a hole beyond the recovery
                                              point; recovery moves them to wal/lost/)
  corrupt at offset X: REASON                (durable data is damaged)
  newer format at offset X: REASON           (a record this kaya cannot read)
  over the limit at offset X: REASON         (a record over --max-record-bytes)
then the log's problems in order (missing segments and LSN gaps between segments
included), the totals, and what recovery would do. A single segment file is judged
as the last segment of a log without a recovery point. A log whose truncation is
pending (kaya-wal truncate or Writer::truncate_after interrupted by a crash) is read
as recovery will leave it, ending at the cut: the cut segment's row says where it is
cut, and what lies above the cut is reported as removed by the pending truncation,
neither as records nor as damage. Reads only: changes no byte, takes no lock.

Exit: 0 when recovery would lose no acknowledged record (clean, a torn tail, records
after a hole), 3 on corruption, 4 for a record that needs a newer kaya or a larger
--max-record-bytes, and 4 for a file that is not a kaya segment (no valid record, and
its first bytes are neither a record's magic nor zeros).

--json prints one object:
  {"path":..., "kind":"log"|"segment",
   "segments":[{"id","path","bytes","records","valid_bytes","first_lsn","last_lsn",
                "last_sequence","records_by_type":{"put","delete","noop","bytes"},
                "state":"clean"|"torn_tail"|"lost_after_hole"|"corrupt"|
                        "newer_format"|"over_limit","state_text",
                "problem_offset","problem_bytes","problem_lsn","problem","reason"}],
   "anomalies":[{"kind":"torn_tail"|"lost_after_hole"|"corruption"|"newer_format"|
                        "over_limit","segment_id","offset","lsn","reason"}],
   "totals":{"segments","bytes","records","first_lsn","last_lsn",
             "recoverable_records","next_lsn","verdict"},
   "writer_active":bool,
   "pending_truncation":null|{"after","epoch","records","bytes","segments_removed",
                              "cut_segment_id","cut_offset"}}
(segments also carry "truncation_cut": the cut segment's cut offset, else null)
(absent LSNs and offsets are null).

flags:
  --json                one JSON object instead of text
  --max-record-bytes N  the writer's record limit, when it was raised above 32 MiB
)";

// One segment file, as a one-segment log without a recovery point.
Result<wal::LogInspection> inspect_file(const std::string& file,
                                        const wal::WalConfig& config) {
  KAYA_ASSIGN_OR_RETURN(wal::SegmentInspection s, inspect_segment_file(file, config));
  return single_segment_log(std::move(s));
}

Result<wal::LogInspection> inspect_dir(const std::string& dir,
                                       const wal::WalConfig& config) {
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::Disk> disk, open_log_dir(dir));
  return wal::inspect_log(config, *disk);
}

}  // namespace

int run_inspect(const CommandArgs& argv) {
  int code = kExitOk;
  std::optional<LogCommand> cmd = LogCommand::start("inspect", kHelp, argv, {}, code);
  if (!cmd) return code;
  const std::string& path = cmd->path();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!io::is_rados_location(path)) {
    if (Status s = status_error(path, ec); !s.ok()) return cmd->fail(s.error());
  }
  if (!io::is_rados_location(path) && !std::filesystem::exists(status)) {
    return cmd->fail(Error(ErrorKind::kNotFound, path + ": no such file or directory"));
  }
  const bool is_dir = !is_segment_file_path(path);
  Result<wal::LogInspection> log =
      is_dir ? inspect_dir(path, cmd->config()) : inspect_file(path, cmd->config());
  if (!log.ok()) return cmd->fail(log.error());

  if (cmd->json()) {
    std::vector<std::string> segments;
    for (const wal::SegmentInspection& s : log->segments) {
      segments.push_back(segment_json(s));
    }
    std::vector<std::string> anomalies;
    for (const wal::Anomaly& a : log->anomalies) anomalies.push_back(anomaly_json(a));
    const std::string out = JsonObject()
                                .str("path", path)
                                .str("kind", is_dir ? "log" : "segment")
                                .raw("segments", json_array(segments))
                                .raw("anomalies", json_array(anomalies))
                                .raw("totals", totals_json(*log))
                                .boolean("writer_active", log->writer_active)
                                .raw("pending_truncation", pending_truncation_json(*log))
                                .build();
    std::printf("%s\n", out.c_str());
  } else {
    std::printf("%s %s\n%s", is_dir ? "log" : "segment file", path.c_str(),
                inspection_table(*log, is_dir).c_str());
  }
  std::fflush(stdout);
  const std::optional<Error> e = is_dir ? recovery_error(*log, path)
                                        : segment_file_error(log->segments.front(), path);
  if (e) return report_error(*e);
  return kExitOk;
}

}  // namespace kaya::tool
