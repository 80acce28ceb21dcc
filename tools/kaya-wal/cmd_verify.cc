// kaya-wal verify: a read-only check that a log would recover without loss.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "inspection_text.h"
#include "json.h"
#include "kaya/wal/inspect.h"
#include "kaya/wal/recovery.h"

namespace kaya::tool {
namespace {

constexpr std::string_view kHelp =
    R"(usage: kaya-wal verify DIR [--json] [--max-record-bytes N]

Checks every record of the log in DIR (checksums, lengths, LSN order within and
across segments, missing segments) without changing a byte or taking a lock, and
prints a one-line summary:

  ok: DIR: 3 records, LSN 1..3, 1 segment, 147 bytes; clean; recovery keeps ...
  ok: DIR: ...; torn_tail; recovery keeps 1 record (next LSN 2) and drops a torn ...
  corrupt: DIR: ...; default recovery fails at segment 1 offset 57; ...

A torn tail (the end of the last segment, cut short by a crash, never acknowledged)
is reported but is not an error. The check is made twice, by inspection and by a
dry-run recovery; they must agree (run it on a log no writer is appending to).

Exit: 0 when the log would recover without losing an acknowledged record (clean or
torn tail), 3 on corruption (the error on stderr names segment, offset and reason),
5 when inspection and recovery disagree, 2 when DIR holds no log.

--json prints one object:
  {"path", "ok": bool, "verdict": "clean"|"torn_tail"|"corrupt",
   "totals": {"segments","bytes","records","first_lsn","last_lsn",
              "recoverable_records","next_lsn","verdict"},
   "anomalies": [{"kind","segment_id","offset","lsn","reason"}]}

flags:
  --json                one JSON object instead of the summary line
  --max-record-bytes N  the writer's record limit, when it was raised above 32 MiB
)";

// Recovery in point-in-time mode, dry run, reports the first problem instead of
// failing on it: its verdict must be the inspection's.
Status cross_check(const WalConfig& config, io::Disk& disk, const wal::LogInspection& log,
                   const std::string& dir) {
  wal::RecoveryOptions options;
  options.mode = wal::RecoveryMode::kPointInTime;
  options.dry_run = true;
  KAYA_ASSIGN_OR_RETURN(wal::RecoveryReport report, wal::recover(config, disk, options));
  std::string why;
  if (report.records != log.recoverable_records) {
    why = "records kept " + std::to_string(report.records) + " vs " +
          std::to_string(log.recoverable_records);
  } else if (report.next_lsn != log.next_lsn) {
    why = "next LSN " + std::to_string(report.next_lsn.value()) + " vs " +
          std::to_string(log.next_lsn.value());
  } else if (report.anomalies.empty() != (log.first_problem() == nullptr)) {
    why = std::string("recovery found ") + (report.anomalies.empty() ? "no" : "a") +
          " problem, inspection " + (log.first_problem() ? "one" : "none");
  } else if (!report.anomalies.empty()) {
    const wal::Anomaly& r = report.anomalies.front();
    const wal::Anomaly& i = *log.first_problem();
    if (r.kind != i.kind || r.segment_id != i.segment_id || r.offset != i.offset) {
      why = "first problem \"" + r.to_string() + "\" vs \"" + i.to_string() + "\"";
    }
  }
  if (why.empty()) return ok_status();
  return Error(ErrorKind::kInvariantViolation,
               "inspection and dry-run recovery disagree about " + dir + ": " + why +
                   " (recovery first, inspection second; was a writer appending?)");
}

}  // namespace

int run_verify(const CommandArgs& argv) {
  Result<Args> args =
      Args::parse(argv, {{"json", false}, {"max-record-bytes", true}}, 1, 1);
  if (!args.ok()) return usage_error("verify", args.error());
  if (args->help()) {
    std::fwrite(kHelp.data(), 1, kHelp.size(), stdout);
    return kExitOk;
  }
  Result<WalConfig> config = read_config(*args);
  if (!config.ok()) return usage_error("verify", config.error());
  const std::string& dir = args->positional()[0];
  auto disk = open_log_dir(dir);
  if (!disk.ok()) return report_error(disk.error());
  Result<wal::LogInspection> log = wal::inspect_log(*config, **disk);
  if (!log.ok()) return report_error(log.error());
  Status agreed = cross_check(*config, **disk, *log, dir);
  if (!agreed.ok()) return report_error(agreed.error());

  const bool ok = !log->corrupt();
  if (args->has("json")) {
    std::vector<std::string> anomalies;
    for (const wal::Anomaly& a : log->anomalies) anomalies.push_back(anomaly_json(a));
    std::printf("%s\n", JsonObject()
                            .str("path", dir)
                            .boolean("ok", ok)
                            .str("verdict", verdict(*log))
                            .raw("totals", totals_json(*log))
                            .raw("anomalies", json_array(anomalies))
                            .build()
                            .c_str());
  } else {
    std::printf("%s: %s: %s; %s; %s\n", ok ? "ok" : "corrupt", dir.c_str(),
                totals_text(*log).c_str(), verdict(*log).c_str(),
                outlook_text(*log).c_str());
  }
  std::fflush(stdout);
  if (!ok) {
    return report_error(
        Error(ErrorKind::kCorruption, dir + ": " + log->first_problem()->to_string()));
  }
  return kExitOk;
}

}  // namespace kaya::tool
