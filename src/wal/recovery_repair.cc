#include "wal/recovery_repair.h"

#include <string>
#include <utility>

#include "core/assert.h"
#include "wal/log_dir.h"

namespace kaya::wal {

Error problem_error(io::Disk& disk, const Spot& spot, RecoveryMode mode) {
  Error e = spot.to_error(disk);
  std::string msg = e.message();
  switch (spot.verdict) {
    case Verdict::kTornTail:
    case Verdict::kLostAfterHole:
      msg += "; absolute recovery accepts no loss (the default mode would ";
      msg += spot.verdict == Verdict::kTornTail ? "drop this never-acknowledged tail)"
                                                : "move these records to wal/lost/)";
      break;
    case Verdict::kCorruption:
      msg += "; recovery changed nothing";
      if (mode != RecoveryMode::kPointInTime) {
        msg +=
            " (point-in-time recovery keeps the records before it and moves the rest "
            "to wal/lost/)";
      }
      break;
    case Verdict::kNewerFormat:
    case Verdict::kOverLimit:
      msg += "; recovery changed nothing";
      break;
  }
  return Error(e.kind(), msg);
}

bool recoverable(const Spot& spot, RecoveryMode mode) {
  switch (spot.verdict) {
    case Verdict::kNewerFormat:
    case Verdict::kOverLimit:
      return false;
    case Verdict::kCorruption:
      return mode == RecoveryMode::kPointInTime;
    case Verdict::kTornTail:
    case Verdict::kLostAfterHole:
      return mode != RecoveryMode::kAbsolute;
  }
  return false;
}

Status drop(io::Disk& disk, const RecoveryOptions& options,
            const std::vector<uint64_t>& ids, const Problem& problem,
            RecoveryReport& report) {
  // A torn tail was never acknowledged; anything else that is cut may have been, so it
  // is kept.
  const bool keep_aside = options.mode == RecoveryMode::kPointInTime ||
                          problem.spot.verdict != Verdict::kTornTail;
  if (keep_aside && !options.dry_run) {
    KAYA_RETURN_IF_ERROR(log_dir::create_lost_dir(disk));
  }
  for (size_t i = problem.segment_index; i < ids.size(); ++i) {
    const uint64_t id = ids[i];
    Dropped d;
    d.segment_id = id;
    d.offset = i == problem.segment_index ? problem.spot.offset : 0;
    KAYA_ASSIGN_OR_RETURN(uint64_t len, disk.file_len(log_dir::segment(id)));
    KAYA_ASSERT(d.offset <= len);  // a problem is found inside the file it names
    d.bytes = len - d.offset;
    if (keep_aside) {
      KAYA_ASSIGN_OR_RETURN(io::RelativePath to, log_dir::lost_name(disk, id, d.offset));
      d.moved_to = to.str();
      if (!options.dry_run) {
        KAYA_RETURN_IF_ERROR(log_dir::set_aside(disk, id, d.offset, to));
      }
    }
    if (!options.dry_run && (d.offset > 0 || !keep_aside)) {
      KAYA_RETURN_IF_ERROR(log_dir::cut_segment(disk, id, d.offset));
    }
    report.bytes_dropped += d.bytes;
    report.dropped.push_back(std::move(d));
  }
  if (!options.dry_run) {
    KAYA_RETURN_IF_ERROR(keep_aside ? log_dir::sync_after_set_aside(disk)
                                    : log_dir::sync_dir(disk));
    report.applied = true;
  }
  return ok_status();
}

}  // namespace kaya::wal
