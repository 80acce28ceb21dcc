// The log directory: every file a log keeps on its Disk, spelled in one place, and the
// changes to them whose order and syncs make a crash leave a prefix of the log (a new
// segment, a released one, a cut tail, data set aside). Recovery, inspection, the
// readers and the writer reach the log's files through this module; none spells a
// path or syncs a directory of its own.
//
// Under the Disk root (docs/format.md, "Layout"):
//   wal/                        the log's directory
//   wal/<16 hex digits>.wal     segment N (format::segment_path)
//   wal/LOCK                    held by the one writer (Disk::lock_file)
//   wal/RECOVERY_POINT[.tmp]    the recovery point (recovery_point.cc)
//   wal/lost/                   segments and tails recovery set aside
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/disk.h"

namespace kaya::wal::log_dir {

// Paths. Each is spelled by kaya, so always valid: parsing one can fail only for want of
// memory, which is thrown on as std::bad_alloc for the guard of the public call
// (core/guard.h) to report.
io::RelativePath dir();                  // "wal"
io::RelativePath segment(uint64_t id);   // "wal/0000000000000001.wal" for 1
io::RelativePath lock_file();            // "wal/LOCK"
io::RelativePath recovery_point();       // "wal/RECOVERY_POINT"
io::RelativePath recovery_point_temp();  // "wal/RECOVERY_POINT.tmp"
io::RelativePath lost_dir();             // "wal/lost"

// The ids of the segments, ascending (list_dir is sorted, and so are fixed-width hex
// names); empty when the log has no wal/ directory.
Result<std::vector<uint64_t>> list_segments(io::Disk& disk);

// Whether listed segments are missing before ids[i] (ids[i - 1] + 1 .. ids[i] - 1): a
// hole in the log. False for i == 0.
bool hole_before(std::span<const uint64_t> ids, size_t i);

// LSN of the first record of segment `id`; nullopt when the segment holds no complete
// valid record at offset 0. NotFound when the segment does not exist.
Result<std::optional<Lsn>> first_lsn(io::Disk& disk, uint64_t id,
                                     uint64_t max_record_bytes);

// The writer's lock on wal/LOCK (Disk::lock_file): LockConflict while another holds
// it ("another writer holds the log ...: " and the disk's words on the lock); NotFound
// when the log has no wal/ directory.
Result<std::unique_ptr<io::FileLock>> lock(io::Disk& disk);

// Whether a writer holds the lock, asked without taking it.
Result<bool> locked(io::Disk& disk);

// Changes, each durable when it returns unless said otherwise.

// wal/ when it is missing; not synced (the first segment's creation syncs it).
Status ensure_dir(io::Disk& disk);
// A new log: wal/ and its entry in the root, then the empty segment `first_id`.
Status create(io::Disk& disk, uint64_t first_id);
// The empty segment `id`, its directory entry synced.
Status create_segment(io::Disk& disk, uint64_t id);
// The empty segment `id`, its directory entry NOT synced: sync_dir() makes it durable.
Status add_segment(io::Disk& disk, uint64_t id);
// Removes segment `id` and syncs the directory: removals made one after the other
// become durable in that order (oldest first, so a crash leaves no hole).
Status remove_segment(io::Disk& disk, uint64_t id);
// Cuts segment `id` to `len` bytes and syncs it.
Status cut_segment(io::Disk& disk, uint64_t id, uint64_t len);
// Segment `id` ending at `data_end`: the space past it (what a crashed writer had
// preallocated beyond the tail's last record, or a sealed segment's zero tail whose
// cut a power loss undid) is cut off, then the segment (with whatever a crashed
// process left with the OS) and the directory are synced.
Status trim_tail(io::Disk& disk, uint64_t id, uint64_t data_end);
// Syncs segment `id` and the directory.
Status sync_segment(io::Disk& disk, uint64_t id);

// Setting records aside in wal/lost/ (recovery).
// wal/lost/ and its entry in wal/.
Status create_lost_dir(io::Disk& disk);
// A name under wal/lost/ for segment `id` from `offset` on that is not taken yet:
// "wal/lost/<segment>.wal", with ".from-<offset>" when offset > 0, then ".1", ".2" ...
Result<io::RelativePath> lost_name(io::Disk& disk, uint64_t id, uint64_t offset);
// Moves segment `id` from `offset` on to `to` (a lost_name): the whole file is renamed,
// a tail is copied into `to` (synced) and stays in the segment (cut_segment it).
// Directory entries are not synced: sync_after_set_aside once every move is made.
Status set_aside(io::Disk& disk, uint64_t id, uint64_t offset,
                 const io::RelativePath& to);
// Syncs wal/lost/ and wal/ after set_aside and cut_segment calls.
Status sync_after_set_aside(io::Disk& disk);
// Syncs wal/: every entry added (add_segment) or removed before is durable; also after
// cut_segment calls that set nothing aside.
Status sync_dir(io::Disk& disk);

}  // namespace kaya::wal::log_dir
