// One segment file read on its own, not as a part of its log: `inspect FILE` and
// `dump FILE` (e.g. a file that recovery moved aside to wal/lost/).
#pragma once

#include <optional>
#include <string>

#include "kaya/core/status.h"
#include "kaya/wal/config.h"
#include "kaya/wal/inspect.h"

namespace kaya::tool {

// Whether `path` names an existing local file rather than a directory or a RADOS
// location: what the commands that take a log or a segment file read as the latter.
bool is_segment_file_path(const std::string& path);

// Scans the segment file `file` through a FileDisk on its parent directory with
// wal::inspect_segment, judged as the last segment of a log without a recovery point,
// and calls `visitor` (optional) for each record the scan accepts. InvalidArgument
// naming `file` when it is not a kaya segment: no valid record, and its first bytes
// are neither a record's magic nor zeros (wal::may_begin_segment; an empty, all-zero
// or torn-first-record file is judged as a segment). NotFound, I/O errors.
Result<wal::SegmentInspection> inspect_segment_file(
    const std::string& file, const wal::WalConfig& config,
    const wal::RecordVisitor& visitor = {});

// The error that the first problem of a lone segment file makes, as default recovery
// would fail with it (Corruption, UnsupportedVersion, InvalidArgument), named after
// `file` and the segment's state ("FILE: corrupt at offset 57: ..."): a lone file may
// not be named like a segment, so its state names no segment id. nullopt when the
// file is clean or ends in a torn tail.
std::optional<Error> segment_file_error(const wal::SegmentInspection& segment,
                                        const std::string& file);

}  // namespace kaya::tool
