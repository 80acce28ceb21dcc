#include "kaya/wal/judgement.h"

#include <array>

#include "core/guard.h"

namespace kaya::wal {
namespace {

// Damage to bytes (as opposed to a verified record that is out of place): what a torn
// write can leave.
bool is_damage(Finding f) {
  return f == Finding::kPartialHeader || f == Finding::kDamagedHeader ||
         f == Finding::kZeros || f == Finding::kPartialPayload ||
         f == Finding::kDamagedPayload || f == Finding::kIncompleteBatch;
}

constexpr std::array kAllFindings = {
    Finding::kPartialHeader,   Finding::kDamagedHeader,  Finding::kZeros,
    Finding::kPartialPayload,  Finding::kDamagedPayload, Finding::kNewerFormat,
    Finding::kOverLimit,       Finding::kLsnZero,        Finding::kLsnStepBack,
    Finding::kLsnGap,          Finding::kLsnExhausted,   Finding::kMissingSegment,
    Finding::kEmptySegment,    Finding::kEndsEarly,      Finding::kMismatch,
    Finding::kIncompleteBatch,
};

}  // namespace

std::string_view to_string(Finding finding) {
  switch (finding) {
    case Finding::kPartialHeader:
      return "partial header";
    case Finding::kDamagedHeader:
      return "damaged header";
    case Finding::kZeros:
      return "zeros";
    case Finding::kPartialPayload:
      return "partial payload";
    case Finding::kDamagedPayload:
      return "damaged payload";
    case Finding::kNewerFormat:
      return "unknown version, flags or type";
    case Finding::kOverLimit:
      return "record over the limit";
    case Finding::kLsnZero:
      return "LSN 0";
    case Finding::kLsnStepBack:
      return "LSN steps back";
    case Finding::kLsnGap:
      return "LSN gap";
    case Finding::kLsnExhausted:
      return "LSN space exhausted";
    case Finding::kMissingSegment:
      return "missing segment";
    case Finding::kEmptySegment:
      return "empty segment";
    case Finding::kEndsEarly:
      return "log ends before the recovery point";
    case Finding::kMismatch:
      return "recovery point does not match the log";
    case Finding::kIncompleteBatch:
      return "incomplete batch";
  }
  return "unknown finding";
}

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kTornTail:
      return "torn tail";
    case Verdict::kLostAfterHole:
      return "lost after a hole";
    case Verdict::kCorruption:
      return "corruption";
    case Verdict::kNewerFormat:
      return "newer format";
    case Verdict::kOverLimit:
      return "over the limit";
  }
  return "unknown verdict";
}

std::string_view to_string(Where where) {
  switch (where) {
    case Where::kCovered:
      return "at or below the recovery point";
    case Where::kBeyond:
      return "beyond the recovery point";
    case Where::kNoRecoveryPoint:
      return "no recovery point";
  }
  return "unknown position";
}

std::string_view to_string(Follows follows) {
  switch (follows) {
    case Follows::kNothing:
      return "nothing follows";
    case Follows::kValidRecord:
      return "a valid record follows";
    case Follows::kUndetermined:
      return "undetermined (the search gave up)";
  }
  return "unknown";
}

bool needs_follows(Where where, bool last_segment, Finding finding) {
  if (!is_damage(finding)) return false;
  if (where == Where::kBeyond) return true;
  return where == Where::kNoRecoveryPoint && last_segment;
}

Verdict judge(Where where, bool last_segment, Finding finding, Follows follows) {
  // What cannot be told is judged as what cuts nothing: a valid record follows.
  if (follows == Follows::kUndetermined) follows = Follows::kValidRecord;
  // A header that verified says what the record is: it is never cut, and never read
  // as something else, wherever it is.
  if (finding == Finding::kNewerFormat) return Verdict::kNewerFormat;
  if (finding == Finding::kOverLimit) return Verdict::kOverLimit;
  switch (where) {
    case Where::kCovered:
      return Verdict::kCorruption;
    case Where::kBeyond:
      if (finding == Finding::kEndsEarly || finding == Finding::kMismatch) {
        return Verdict::kCorruption;
      }
      if (is_damage(finding) && follows == Follows::kNothing) return Verdict::kTornTail;
      return Verdict::kLostAfterHole;
    case Where::kNoRecoveryPoint:
      if (is_damage(finding) && last_segment && follows == Follows::kNothing) {
        return Verdict::kTornTail;
      }
      return Verdict::kCorruption;
  }
  return Verdict::kCorruption;
}

std::string_view explain(Where where, bool last_segment, Finding finding,
                         Follows follows) {
  switch (judge(where, last_segment, finding, follows)) {
    case Verdict::kNewerFormat:
      return "the header verifies but names a format this kaya cannot read; read the "
             "log with a kaya that supports it (the log is left unchanged)";
    case Verdict::kOverLimit:
      return "the header verifies but the record is larger than max_record_bytes "
             "(configured and recorded); raise --max-record-bytes "
             "(WalConfig::max_record_bytes) to read it (the log is left unchanged)";
    case Verdict::kTornTail:
      return where == Where::kBeyond
                 ? "beyond the recovery point and nothing valid follows: a write cut "
                   "short by a crash, never acknowledged"
                 : "nothing valid follows: a write cut short by a crash (no recovery "
                   "point: judged by what follows)";
    case Verdict::kLostAfterHole:
      if (is_damage(finding) && follows == Follows::kUndetermined) {
        return "beyond the recovery point; whether a valid record follows is "
               "undetermined (the search gave up), so it is not cut as a torn tail: the "
               "rest is kept in wal/lost/, not deleted";
      }
      return "beyond the recovery point and after a hole: the records from here on "
             "were never durable; they are kept in wal/lost/, not deleted";
    case Verdict::kCorruption:
      break;
  }
  if (finding == Finding::kEndsEarly) {
    return "records the recovery point says are durable are missing (lost writes or "
           "a truncated or removed segment)";
  }
  if (finding == Finding::kMismatch) {
    return "the record the recovery point names is not there (segments restored from "
           "another copy?); kaya-wal recover --rebuild-recovery-point rebuilds it";
  }
  if (where == Where::kCovered) {
    if (finding == Finding::kIncompleteBatch) {
      return "at or below the recovery point: a batch acknowledged whole is missing "
             "records";
    }
    return "at or below the recovery point: durable, acknowledged data is damaged";
  }
  if (finding == Finding::kEmptySegment) {
    return "no writer seals a segment without records: durable data is missing";
  }
  if (!last_segment && is_damage(finding)) {
    return "not the last segment: durable data is damaged";
  }
  if (is_damage(finding) && follows == Follows::kValidRecord) {
    return "followed by a valid record: durable data is damaged";
  }
  if (is_damage(finding) && follows == Follows::kUndetermined) {
    return "whether a valid record follows is undetermined (the search gave up), so it "
           "is not cut as a torn tail: durable data may be damaged";
  }
  return "the records do not continue the log: durable data is damaged";
}

std::optional<ErrorKind> error_kind(Verdict verdict) {
  switch (verdict) {
    case Verdict::kTornTail:
    case Verdict::kLostAfterHole:
      return std::nullopt;
    case Verdict::kCorruption:
      return ErrorKind::kCorruption;
    case Verdict::kNewerFormat:
      return ErrorKind::kUnsupportedVersion;
    case Verdict::kOverLimit:
      return ErrorKind::kInvalidArgument;
  }
  return ErrorKind::kCorruption;
}

std::string decision_table() {
  return core::guard_value([&]() -> std::string {
    std::string t =
        "| finding | what follows | at or below the recovery point | beyond the "
        "recovery point | no recovery point, last segment | no recovery point, other "
        "segment |\n| --- | --- | --- | --- | --- | --- |\n";
    for (Finding f : kAllFindings) {
      const bool varies = needs_follows(Where::kBeyond, true, f) ||
                          needs_follows(Where::kNoRecoveryPoint, true, f);
      for (Follows follows : {Follows::kNothing, Follows::kValidRecord}) {
        if (!varies && follows == Follows::kValidRecord) break;
        // Appended piece by piece: GCC 12 misreports "literal" + std::string&& at -O3
        // (-Wrestrict).
        t += "| ";
        t += to_string(f);
        t += " | ";
        t += varies ? to_string(follows) : std::string_view("(any)");
        t += " |";
        const std::pair<Where, bool> columns[] = {{Where::kCovered, true},
                                                  {Where::kBeyond, true},
                                                  {Where::kNoRecoveryPoint, true},
                                                  {Where::kNoRecoveryPoint, false}};
        for (const auto& [where, last] : columns) {
          t += " ";
          t += to_string(judge(where, last, f, follows));
          t += " |";
        }
        t += "\n";
      }
    }
    return t;
  });
}

}  // namespace kaya::wal
