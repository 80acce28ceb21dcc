// Where a reader starts: the search over the segments' first LSNs for the segment an
// LSN lies in, with the checks of the segments' order recovery makes on the segments it
// does not read, judged by the one judgement (kaya/wal/judgement.h). The start of
// SegmentCursor::open. Internal.
#pragma once

#include <cstdint>
#include <optional>

#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/disk.h"
#include "kaya/wal/format.h"
#include "wal/log_scan.h"

namespace kaya::wal {

// Damage that ends the log as a reader reads it: the error, and the first segment
// reading must not enter (0: reading is already past it).
struct Damage {
  uint64_t segment_id = 0;
  Error error;
};

// Where reading towards `from` starts.
struct ReadStart {
  uint64_t segment_id = format::kFirstSegmentId;
  // The segment was in the listing (false: the log has no segment yet).
  bool listed = false;
  // Its first LSN; nullopt when the log holds no record yet.
  std::optional<uint64_t> first_lsn;
};

// Binary search over the segment ids for the last segment whose first LSN is <= `from`
// (one header read per probe). nullopt when a probed segment vanished (a release ran
// meanwhile): the caller lists again. Only the last segment may lack a first LSN (it
// is the active one, empty or with its first write in progress).
// A damaged shape (a missing segment; an empty or unreadable one that is not the last)
// is judged (judgement.h): an error; with `damage` it is kept there instead (the first
// one in segment order), and the search goes on as if the log ended before it. Beyond
// the recovery point it is a hole: the segments from there on are not part of the log.
Result<std::optional<ReadStart>> locate_start(const LogView& view, io::Disk& disk,
                                              Lsn from, std::optional<Damage>* damage);

}  // namespace kaya::wal
