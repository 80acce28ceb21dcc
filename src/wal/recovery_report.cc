// The words of recovery's report (kaya/wal/recovery.h): modes, anomalies, the report.
#include <string>
#include <vector>

#include "core/guard.h"
#include "kaya/wal/recovery.h"

namespace kaya::wal {

std::string_view to_string(RecoveryMode mode) {
  switch (mode) {
    case RecoveryMode::kDefault:
      return "default";
    case RecoveryMode::kPointInTime:
      return "point-in-time";
    case RecoveryMode::kAbsolute:
      return "absolute";
  }
  return "unknown";
}

std::string Anomaly::to_string() const {
  return core::guard_value([&]() -> std::string {
    std::string s =
        "segment " + std::to_string(segment_id) + " offset " + std::to_string(offset);
    if (lsn) s += " LSN " + std::to_string(lsn->value());
    return s + ": " + std::string(wal::to_string(kind)) + ": " + reason;
  });
}

std::vector<uint64_t> RecoveryReport::segment_ids() const {
  std::vector<uint64_t> ids;
  for (const SegmentSummary& s : segments) ids.push_back(s.id);
  return ids;
}

std::string RecoveryReport::to_string() const {
  return core::guard_value([&]() -> std::string {
    std::string s =
        std::string(dry_run ? "dry run, " : "") + "mode " +
        std::string(wal::to_string(mode)) + ": " + std::to_string(records) +
        " records in " + std::to_string(segments.size()) + " segments (" +
        std::to_string(valid_bytes) + " bytes), next LSN " +
        std::to_string(next_lsn.value()) + ", " + std::to_string(duration_us) + " us; " +
        (full_scan ? "every segment read" : "read from the recovery point on") +
        (had_recovery_point ? "" : " (the log had no recovery point)") + "\n";
    if (completed_truncation_after) {
      s += std::string(dry_run ? "  a pending truncation would be completed"
                               : "  completed a pending truncation") +
           ": records after LSN " + std::to_string(completed_truncation_after->value()) +
           (dry_run ? " are not part of the log\n" : " removed\n");
    }
    for (const Anomaly& a : anomalies) s += "  anomaly: " + a.to_string() + "\n";
    for (const Dropped& d : dropped) {
      s += "  " + std::string(applied ? "dropped" : "would drop") + " segment " +
           std::to_string(d.segment_id) + " from offset " + std::to_string(d.offset) +
           " (" + std::to_string(d.bytes) + " bytes)";
      if (!d.moved_to.empty()) s += ", kept in " + d.moved_to;
      s += "\n";
    }
    return s;
  });
}

}  // namespace kaya::wal
