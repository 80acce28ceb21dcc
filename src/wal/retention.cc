#include "wal/retention.h"

#include <optional>
#include <string>
#include <vector>

#include "core/assert.h"
#include "wal/log_dir.h"
#include "wal/sequencer.h"

namespace kaya::wal {

Result<ReleaseReport> Retention::release_before(Lsn lsn) {
  std::lock_guard<std::mutex> release_lock(mu_);
  KAYA_ASSIGN_OR_RETURN(const uint64_t active, sequencer_.active_segment());
  KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, log_dir::list_segments(disk_));
  // The recovery point must not name a record in a segment about to go: it is brought
  // up to the durable end first (which lies in a segment that stays).
  const RecoveryPoint rp = sequencer_.recovery_point();
  KAYA_RETURN_IF_ERROR(rp_.persist(rp, /*sync=*/true));
  ReleaseReport report;
  size_t i = 0;
  for (; i < ids.size(); ++i) {
    const uint64_t id = ids[i];
    if (id >= active) {
      report.stopped_because =
          "segment " + std::to_string(id) + " is the active segment or one still closing";
      break;
    }
    if (i + 1 >= ids.size() || log_dir::hole_before(ids, i + 1)) {
      return Error(ErrorKind::kCorruption, disk_.describe(log_dir::segment(id + 1)) +
                                               " is missing: the log has a hole " +
                                               "after segment " + std::to_string(id) +
                                               "; nothing more was released");
    }
    // Segment `id` holds LSNs below the first LSN of the segment after it.
    KAYA_ASSIGN_OR_RETURN(std::optional<Lsn> next_first,
                          log_dir::first_lsn(disk_, id + 1, config_.max_record_bytes));
    if (!next_first) {
      report.stopped_because = "segment " + std::to_string(id + 1) +
                               " has no record yet, so the end of " + "segment " +
                               std::to_string(id) + " is not known from the disk";
      break;
    }
    if (next_first->value() > lsn.value()) {
      report.stopped_because = "segment " + std::to_string(id) +
                               " holds LSNs at or above " + std::to_string(lsn.value());
      break;
    }
    // Keep a segment until a *durable* record follows it: if every record left after
    // the release could be lost in a power loss, recovery would find an empty log and
    // the next writer would hand out LSNs again from 1.
    // The durable end is taken from the recovery point made durable above (not the
    // writer's newer one): the record that point names must stay in the log.
    const uint64_t durable_lsn = rp.durable.lsn.value();
    if (next_first->value() > durable_lsn) {
      report.stopped_because = "the first record after segment " + std::to_string(id) +
                               " (LSN " + std::to_string(next_first->value()) +
                               ") is not durable yet; sync() first";
      break;
    }
    // What is removed lies below the LSN released and below the durable record the
    // recovery point names, and is not where appends go.
    KAYA_ASSERT(id < active && next_first->value() <= lsn.value() &&
                next_first->value() <= durable_lsn);
    KAYA_ASSIGN_OR_RETURN(uint64_t bytes, disk_.file_len(log_dir::segment(id)));
    // Removals become durable one by one, oldest first: a crash can never leave a hole
    // in the middle of the log.
    KAYA_RETURN_IF_ERROR(log_dir::remove_segment(disk_, id));
    report.segments_removed++;
    report.bytes_released += bytes;
    sequencer_.count_release(bytes);
  }
  if (i < ids.size()) {
    KAYA_ASSIGN_OR_RETURN(report.first_lsn_kept,
                          log_dir::first_lsn(disk_, ids[i], config_.max_record_bytes));
  }
  return report;
}

}  // namespace kaya::wal
