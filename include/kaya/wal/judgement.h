/// @file
/// The damage judgement: the one place that decides what a bad or odd spot in a log
/// means. Recovery, inspection (and so `kaya-wal verify`) and the readers all ask it;
/// none decides on its own. The decision table is docs/recovery.md's (decision_table()
/// prints it, and a test checks that the page shows exactly that).
///
/// Inputs: where the spot is relative to the recovery point (at or below it, beyond
/// it, or the log has none), whether it is in the last segment, what was found, and
/// whether a valid record follows it. Outputs, from mildest to hardest:
/// - torn tail: an interrupted write that was never acknowledged; recovery cuts it;
/// - lost after a hole: records that follow a hole beyond the recovery point; they
///   cannot have been acknowledged as durable, but they cannot be proven never
///   acknowledged either, so recovery moves them to wal/lost/ and reports them (never
///   deletes them, never calls them corruption);
/// - corruption: durable data is damaged; recovery refuses (point-in-time mode keeps
///   the valid prefix and moves the rest to wal/lost/);
/// - newer format / over the limit: a record whose header verified but that this
///   library cannot or may not read; refused with UnsupportedVersion or
///   InvalidArgument, and the log is left unchanged, in every mode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kaya/core/export.h"
#include "kaya/core/status.h"
#include "kaya/core/types.h"

namespace kaya::wal {

/// Where the spot lies relative to the recovery point.
enum class Where {
  kCovered,          ///< at or below the recovery point: durable, acknowledged data
  kBeyond,           ///< beyond the recovery point: may be a write in progress at a crash
  kNoRecoveryPoint,  ///< the log has no recovery point (written by KayaDB or kaya 0.1)
};

/// What was found.
enum class Finding {
  kPartialHeader,   ///< the segment ends inside a record header
  kDamagedHeader,   ///< bytes that are not a record header (bad magic or header CRC)
  kZeros,           ///< zeros where a record must be
  kPartialPayload,  ///< a verified header, and the segment ends inside its payload
  kDamagedPayload,  ///< a verified header, and its payload fails its CRC or shape
  kNewerFormat,     ///< a verified header of a version, type or flags not known here
  kOverLimit,       ///< a verified header larger than every known record limit
  kLsnZero,         ///< a verified record with LSN 0 (LSNs start at 1)
  kLsnStepBack,     ///< a verified record whose LSN is below the next expected
  kLsnGap,          ///< a verified record whose LSN is above the next expected
  kLsnExhausted,    ///< a record with LSN 2^64-1, which no writer hands out
  kMissingSegment,  ///< a segment id is missing from the sequence
  kEmptySegment,    ///< a segment that is not the last holds no record
  kEndsEarly,       ///< the log ends before the recovery point's record
  kMismatch,        ///< a valid record where the recovery point names another one
  /// Records of an atomic batch that verify, but the batch's last record is not there
  /// (the segment's valid records end first): judged at the batch's first record, and
  /// like damage (by where it is and what follows).
  kIncompleteBatch,
};

/// Whether a valid record follows the spot (later in its segment or in a later one).
enum class Follows {
  kNothing,      ///< only zeros, garbage or the end follow
  kValidRecord,  ///< a record that verifies follows
  /// Not known: the search gave up (past its budget of records whose headers verified
  /// but whose payloads had to be read and did not). Judged as kValidRecord, the verdict
  /// that cuts nothing, never as a torn tail; explained as undetermined.
  kUndetermined,
};

/// What the spot means.
enum class Verdict {
  kTornTail,       ///< cut: never acknowledged
  kLostAfterHole,  ///< moved to wal/lost/ and reported; not an error
  kCorruption,     ///< Corruption: refused (point-in-time keeps the prefix)
  kNewerFormat,    ///< UnsupportedVersion: refused, log unchanged
  kOverLimit,      ///< InvalidArgument: refused, log unchanged; raise the limit
};

/// "partial header", "damaged header", ... (each Finding's name, once).
KAYA_API std::string_view to_string(Finding finding);
/// "torn tail", "lost after a hole", "corruption", "newer format", "over the limit".
KAYA_API std::string_view to_string(Verdict verdict);
/// "at or below the recovery point", "beyond the recovery point", "no recovery point".
KAYA_API std::string_view to_string(Where where);
/// "nothing follows", "a valid record follows", "undetermined (the search gave up)".
KAYA_API std::string_view to_string(Follows follows);

/// The decision (see the file comment). Pure.
KAYA_API Verdict judge(Where where, bool last_segment, Finding finding, Follows follows);

/// Why `judge` decided so, in words, e.g. "nothing valid follows: a write cut short by
/// a crash". Every explanation exists here and only here.
KAYA_API std::string_view explain(Where where, bool last_segment, Finding finding,
                                  Follows follows);

/// Whether the answer depends on what follows (so a caller must look for a valid
/// record after the spot before judging): only beyond the recovery point, or without
/// one in the last segment, and only for damage (not for a verified record).
KAYA_API bool needs_follows(Where where, bool last_segment, Finding finding);

/// The error kind a refusing verdict maps to (Corruption, UnsupportedVersion,
/// InvalidArgument); nullopt for kTornTail and kLostAfterHole.
KAYA_API std::optional<ErrorKind> error_kind(Verdict verdict);

/// The whole table as Markdown, one row per (where, last segment, finding, follows)
/// combination that can occur, with its verdict and explanation.
KAYA_API std::string decision_table();

}  // namespace kaya::wal
