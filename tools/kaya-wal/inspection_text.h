// Rendering of wal::LogInspection for inspect and verify: text table, JSON, verdict.
#pragma once

#include <optional>
#include <string>

#include "kaya/wal/inspect.h"

namespace kaya::tool {

// A one-segment "log", for inspecting a single segment file (treated as the last).
wal::LogInspection single_segment_log(wal::SegmentInspection segment);

// "clean", "torn_tail", "lost_after_hole", "being_written", "corrupt", "newer_format"
// or "over_limit": what recovery in default mode would make of it ("being_written": a
// torn tail or records after a hole beyond the recovery point while a writer holds
// the log, which are writes in progress).
std::string verdict(const wal::LogInspection& log);

// The error default recovery would fail with, named after `path`: the first anomaly
// that is corruption (Corruption) or that every recovery refuses (UnsupportedVersion,
// InvalidArgument); nullopt when default recovery succeeds.
std::optional<Error> recovery_error(const wal::LogInspection& log,
                                    const std::string& path);

// "3 records, LSN 1..3, 1 segment, 147 bytes".
std::string totals_text(const wal::LogInspection& log);

// What recovery would do, e.g. "recovery keeps 3 records (next LSN 4) and drops a torn
// tail of 44 bytes in segment 1 at offset 57".
// With a pending truncation, it starts with pending_truncation_text's "...; then ".
std::string outlook_text(const wal::LogInspection& log);
// What recovery does once a pending truncation is completed (the whole outlook when
// none is pending).
std::string outlook_after_truncation(const wal::LogInspection& log);
// "a truncation after LSN 8 (epoch 1) is pending: recovery first removes the 12
// records above it (...)", or "" when none is pending.
std::string pending_truncation_text(const wal::LogInspection& log);

// The segment table, the problems in log order (unless `list_problems` is false: for
// one segment file the table says it all), totals and outlook; ends in '\n'.
std::string inspection_table(const wal::LogInspection& log, bool list_problems);

std::string segment_json(const wal::SegmentInspection& s);
// {"segments","bytes","records","first_lsn","last_lsn","recoverable_records",
//  "next_lsn","verdict"}
std::string totals_json(const wal::LogInspection& log);
// {"after","epoch","records","bytes","segments_removed":[ids],"cut_segment_id",
//  "cut_offset"}, or null when no truncation is pending.
std::string pending_truncation_json(const wal::LogInspection& log);

}  // namespace kaya::tool
