// kaya-wal recover: runs wal::recover on a log and prints its report.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "json.h"
#include "kaya/wal/recovery.h"

namespace kaya::tool {
namespace {

constexpr std::string_view kHelp =
    R"(usage: kaya-wal recover DIR [--dry-run] [--mode default|point-in-time|absolute]
                            [--full] [--rebuild-recovery-point] [--json]
                            [--max-record-bytes N]

Runs recovery on the log in DIR, as Writer::open does, and prints its report: records
and segments kept, next LSN, every anomaly (segment, offset, LSN, reason) and every
drop (segment, offset, bytes, where they were kept). Damage is judged with the log's
recovery point (wal/RECOVERY_POINT; docs/recovery.md has the decision table); a log
without one gets one.

modes:
  default        cut a torn tail (never acknowledged), move records after a hole
                 beyond the recovery point to wal/lost/; on corruption fail and change
                 nothing. Reads only what lies beyond the recovery point unless --full
  point-in-time  keep the valid prefix up to the first problem; move the rest to
                 wal/lost/ (never deleted)
  absolute       accept no loss: any anomaly, even a torn tail, fails

--dry-run changes no byte and no file and takes no lock: it reports what would be
done. Without it, recovery takes the log's lock: a live writer makes it exit 6.

Exit: 0 ok, 3 corruption in default or absolute mode (nothing changed), 4 a record
that needs a newer kaya or a larger --max-record-bytes (nothing changed), 6 lock
conflict, 2 when DIR holds no log, 1 I/O error.

--json prints one object with every field of the report:
  {"path","ok":true,"mode","dry_run","applied","next_lsn","next_sequence","first_lsn","records",
   "valid_bytes","segments":[{"id","bytes","valid_bytes","records","first_lsn",
   "last_lsn"}],"anomalies":[{"kind","segment_id","offset","lsn","reason"}],
   "dropped":[{"segment_id","offset","bytes","moved_to"}],"bytes_dropped",
   "duration_us","full_scan","had_recovery_point","recovery_point_written"}
(absent LSNs are null; moved_to is "" for a truncated torn tail). When recovery fails
it prints {"path","ok":false,"error":{"kind","message"}} instead (and the error line
on stderr), e.g. kind "Corruption".

flags:
  --dry-run             report only, change nothing
  --mode MODE           default (default), point-in-time or absolute
  --full                read and check every segment, also below the recovery point
  --rebuild-recovery-point
                        ignore the recovery point (unreadable, or not matching segments
                        restored from another copy), judge the log as if it had none
                        (reading every segment) and write a new one; not with --dry-run
  --json                one JSON object instead of text
  --max-record-bytes N  the writer's record limit, when it was raised above 32 MiB
)";

std::string report_json(std::string_view dir, const wal::RecoveryReport& r) {
  std::vector<std::string> segments;
  for (const wal::SegmentSummary& s : r.segments) {
    segments.push_back(JsonObject()
                           .num("id", s.id)
                           .num("bytes", s.bytes)
                           .num("valid_bytes", s.valid_bytes)
                           .num("records", s.records)
                           .opt("first_lsn", s.first_lsn)
                           .opt("last_lsn", s.last_lsn)
                           .build());
  }
  std::vector<std::string> anomalies;
  for (const wal::Anomaly& a : r.anomalies) anomalies.push_back(anomaly_json(a));
  std::vector<std::string> dropped;
  for (const wal::Dropped& d : r.dropped) {
    dropped.push_back(JsonObject()
                          .num("segment_id", d.segment_id)
                          .num("offset", d.offset)
                          .num("bytes", d.bytes)
                          .str("moved_to", d.moved_to)
                          .build());
  }
  return JsonObject()
      .str("path", dir)
      .boolean("ok", true)
      .str("mode", wal::to_string(r.mode))
      .boolean("dry_run", r.dry_run)
      .boolean("applied", r.applied)
      .num("next_lsn", r.next_lsn.value())
      .opt("next_sequence", r.next_sequence
                                ? std::optional<uint64_t>(r.next_sequence->value())
                                : std::nullopt)
      .opt("first_lsn", r.first_lsn)
      .num("records", r.records)
      .num("valid_bytes", r.valid_bytes)
      .raw("segments", json_array(segments))
      .raw("anomalies", json_array(anomalies))
      .raw("dropped", json_array(dropped))
      .num("bytes_dropped", r.bytes_dropped)
      .num("duration_us", r.duration_us)
      .boolean("full_scan", r.full_scan)
      .boolean("had_recovery_point", r.had_recovery_point)
      .boolean("recovery_point_written", r.recovery_point_written)
      .build();
}

Result<wal::RecoveryMode> parse_mode(const Args& args) {
  KAYA_ASSIGN_OR_RETURN(
      std::string mode,
      args.choice("mode", {"default", "point-in-time", "absolute"}, "default"));
  if (mode == "point-in-time") return wal::RecoveryMode::kPointInTime;
  if (mode == "absolute") return wal::RecoveryMode::kAbsolute;
  return wal::RecoveryMode::kDefault;
}

}  // namespace

int run_recover(const CommandArgs& argv) {
  int code = kExitOk;
  std::optional<LogCommand> cmd =
      LogCommand::start("recover", kHelp, argv,
                        {{"dry-run", false},
                         {"mode", true},
                         {"full", false},
                         {"rebuild-recovery-point", false}},
                        code, [](const Args& args) { return parse_mode(args).status(); });
  if (!cmd) return code;
  const Args& args = cmd->args();
  const Result<wal::RecoveryMode> mode = parse_mode(args);  // checked above

  const std::string& dir = cmd->path();
  auto disk = cmd->open_dir();
  if (!disk.ok()) return cmd->fail(disk.error());
  wal::RecoveryOptions options;
  options.mode = *mode;
  options.dry_run = args.has("dry-run");
  options.full_scan = args.has("full");
  options.rebuild_recovery_point = args.has("rebuild-recovery-point");
  if (options.dry_run && options.rebuild_recovery_point) {
    return cmd->usage(Error(ErrorKind::kInvalidArgument,
                            "--rebuild-recovery-point writes the recovery point: not "
                            "with --dry-run"));
  }
  Result<wal::RecoveryReport> report = wal::recover(cmd->config(), **disk, options);
  if (!report.ok()) return cmd->fail(report.error(), "recover " + dir);
  if (cmd->json()) {
    std::printf("%s\n", report_json(dir, *report).c_str());
  } else {
    std::printf("%s", report->to_string().c_str());
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace kaya::tool
