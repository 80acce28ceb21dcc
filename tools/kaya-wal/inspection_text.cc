#include "inspection_text.h"

#include <cstdio>
#include <vector>

#include "json.h"

namespace kaya::tool {
namespace {

std::string num(uint64_t v) { return std::to_string(v); }

std::string lsn_text(const std::optional<Lsn>& lsn) {
  return lsn ? num(lsn->value()) : "-";
}

std::string plural(uint64_t n, std::string_view word) {
  return num(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::string_view state_name(const wal::SegmentInspection& s) {
  if (s.state == wal::SegmentState::kClean) return "clean";
  if (s.state == wal::SegmentState::kCorrupt) return "corrupt";
  return anomaly_kind_name(s.anomaly()->kind);
}

const wal::SegmentInspection* torn_segment(const wal::LogInspection& log) {
  for (const wal::SegmentInspection& s : log.segments) {
    if (s.state == wal::SegmentState::kTornTail) return &s;
  }
  return nullptr;
}

}  // namespace

wal::LogInspection single_segment_log(wal::SegmentInspection s) {
  wal::LogInspection log;
  if (auto a = s.anomaly()) log.anomalies.push_back(*a);
  log.bytes = s.bytes;
  log.records = s.records;
  log.recoverable_records = s.records;
  log.first_lsn = s.first_lsn;
  log.last_lsn = s.last_lsn;
  if (s.last_lsn) log.next_lsn = s.last_lsn->next();
  log.segments.push_back(std::move(s));
  return log;
}

std::string verdict(const wal::LogInspection& log) {
  if (const wal::Anomaly* r = log.refusal()) {
    return r->kind == wal::AnomalyKind::kNewerFormat ? "newer_format" : "over_limit";
  }
  if (log.corrupt()) return "corrupt";
  if (log.being_written()) return "being_written";
  if (log.lost_after_hole()) return "lost_after_hole";
  if (log.torn_tail()) return "torn_tail";
  return "clean";
}

std::optional<Error> recovery_error(const wal::LogInspection& log,
                                    const std::string& path) {
  for (const wal::Anomaly& a : log.anomalies) {
    switch (a.kind) {
      case wal::AnomalyKind::kCorruption:
        return Error(ErrorKind::kCorruption, path + ": " + a.to_string());
      case wal::AnomalyKind::kNewerFormat:
        return Error(ErrorKind::kUnsupportedVersion, path + ": " + a.to_string());
      case wal::AnomalyKind::kOverLimit:
        return Error(ErrorKind::kInvalidArgument, path + ": " + a.to_string());
      case wal::AnomalyKind::kTornTail:
      case wal::AnomalyKind::kLostAfterHole:
        break;
    }
  }
  return std::nullopt;
}

std::string totals_text(const wal::LogInspection& log) {
  std::string s = plural(log.records, "record");
  if (log.first_lsn) {
    s += ", LSN " + lsn_text(log.first_lsn) + ".." + lsn_text(log.last_lsn);
  }
  return s + ", " + plural(log.segments.size(), "segment") + ", " +
         plural(log.bytes, "byte");
}

std::string pending_truncation_text(const wal::LogInspection& log) {
  if (!log.pending_truncation) return "";
  const wal::PendingTruncation& t = *log.pending_truncation;
  std::string s = "a truncation after LSN " + num(t.after.value()) + " (epoch " +
                  num(t.epoch) + ") is pending: recovery first removes the " +
                  plural(t.records, "record") + " above it (" + plural(t.bytes, "byte");
  if (!t.segments_removed.empty()) {
    s += "; segment";
    s += t.segments_removed.size() == 1 ? " " : "s ";
    for (size_t i = 0; i < t.segments_removed.size(); ++i) {
      s += (i > 0 ? ", " : "") + num(t.segments_removed[i]);
    }
    s += " removed whole";
  }
  if (t.cut_segment_id != 0) {
    s += "; segment " + num(t.cut_segment_id) + " cut at offset " + num(t.cut_offset);
  }
  return s + ")";
}

std::string outlook_text(const wal::LogInspection& log) {
  const std::string pending = pending_truncation_text(log);
  const std::string outlook = outlook_after_truncation(log);
  return pending.empty() ? outlook : pending + "; then " + outlook;
}

std::string outlook_after_truncation(const wal::LogInspection& log) {
  const std::string keeps = "recovery keeps " +
                            plural(log.recoverable_records, "record") + " (next LSN " +
                            num(log.next_lsn.value()) + ")";
  if (const wal::Anomaly* r = log.refusal()) {
    return "every recovery refuses the log at segment " + num(r->segment_id) +
           " offset " + num(r->offset) + " and changes nothing";
  }
  if (log.corrupt()) {
    const wal::Anomaly& a = *log.first_problem();
    return "default recovery fails at segment " + num(a.segment_id) + " offset " +
           num(a.offset) + "; point-in-time " + keeps +
           " and moves the rest to wal/lost/";
  }
  if (log.being_written()) {
    const wal::Anomaly& a = *log.first_problem();
    return "a writer holds the log: what follows segment " + num(a.segment_id) +
           " offset " + num(a.offset) +
           " lies beyond the recovery point and is being written (verify again once "
           "the writer has closed to judge it); the " +
           plural(log.recoverable_records, "record") + " before it read cleanly";
  }
  if (const wal::SegmentInspection* t = torn_segment(log)) {
    return keeps + " and drops a torn tail of " + plural(t->problem_bytes(), "byte") +
           " in segment " + num(t->id) + " at offset " + num(t->problem_offset);
  }
  if (log.lost_after_hole()) {
    const wal::Anomaly& a = *log.first_problem();
    return keeps + " and moves what follows segment " + num(a.segment_id) + " offset " +
           num(a.offset) +
           " to wal/lost/ (records after a hole beyond "
           "the recovery point)";
  }
  return keeps + ", nothing to repair";
}

std::string inspection_table(const wal::LogInspection& log, bool list_problems) {
  char row[256];
  std::snprintf(row, sizeof(row), "%-18s %12s %9s %12s %12s  %s\n", "segment", "bytes",
                "records", "first LSN", "last LSN", "state");
  std::string out = row;
  for (const wal::SegmentInspection& s : log.segments) {
    std::snprintf(row, sizeof(row), "%-18s %12llu %9llu %12s %12s  ",
                  s.id ? num(s.id).c_str() : "-",
                  static_cast<unsigned long long>(s.bytes),
                  static_cast<unsigned long long>(s.records),
                  lsn_text(s.first_lsn).c_str(), lsn_text(s.last_lsn).c_str());
    out += row + s.state_string();
    if (s.truncation_cut) {
      out += " (up to offset " + num(*s.truncation_cut) +
             ", where the pending truncation cuts it)";
    }
    out += "\n";
  }
  if (list_problems && !log.anomalies.empty()) {
    out += "problems, in log order (recovery stops at the first):\n";
    for (const wal::Anomaly& a : log.anomalies) out += "  " + a.to_string() + "\n";
  }
  out += "total: " + totals_text(log) + "; " + verdict(log) + "\n";
  out += outlook_text(log) + "\n";
  return out;
}

std::string segment_json(const wal::SegmentInspection& s) {
  JsonObject by_type;
  for (auto type : {wal::RecordType::kPut, wal::RecordType::kDelete,
                    wal::RecordType::kNoop, wal::RecordType::kBytes}) {
    by_type.num(wal::to_string(type), s.records_by_type[static_cast<size_t>(type)]);
  }
  JsonObject o;
  o.num("id", s.id).str("path", s.path).num("bytes", s.bytes).num("records", s.records);
  o.num("valid_bytes", s.valid_bytes).opt("first_lsn", s.first_lsn);
  o.opt("last_lsn", s.last_lsn);
  o.opt("last_sequence", s.last_sequence
                             ? std::optional<uint64_t>(s.last_sequence->value())
                             : std::nullopt);
  o.raw("records_by_type", by_type.build());
  o.opt("truncation_cut", s.truncation_cut);
  o.str("state", state_name(s)).str("state_text", s.state_string());
  if (s.state == wal::SegmentState::kClean) {
    o.null("problem_offset").num("problem_bytes", 0).null("problem_lsn").null("problem");
    o.null("reason");
  } else {
    o.num("problem_offset", s.problem_offset).num("problem_bytes", s.problem_bytes());
    o.opt("problem_lsn", s.problem_lsn);
    if (s.finding == wal::Finding::kIncompleteBatch) {
      o.str("problem", wal::to_string(*s.finding));
    } else if (s.problem == wal::DecodeProblem::kNone) {
      o.str("problem", "lsn order");
    } else {
      o.str("problem", wal::to_string(s.problem));
    }
    o.str("reason", s.reason);
  }
  return o.build();
}

std::string pending_truncation_json(const wal::LogInspection& log) {
  if (!log.pending_truncation) return "null";
  const wal::PendingTruncation& t = *log.pending_truncation;
  std::vector<std::string> removed;
  for (uint64_t id : t.segments_removed) removed.push_back(num(id));
  return JsonObject()
      .num("after", t.after.value())
      .num("epoch", t.epoch)
      .num("records", t.records)
      .num("bytes", t.bytes)
      .raw("segments_removed", json_array(removed))
      .num("cut_segment_id", t.cut_segment_id)
      .num("cut_offset", t.cut_offset)
      .build();
}

std::string totals_json(const wal::LogInspection& log) {
  return JsonObject()
      .num("segments", log.segments.size())
      .num("bytes", log.bytes)
      .num("records", log.records)
      .opt("first_lsn", log.first_lsn)
      .opt("last_lsn", log.last_lsn)
      .num("recoverable_records", log.recoverable_records)
      .num("next_lsn", log.next_lsn.value())
      .str("verdict", verdict(log))
      .build();
}

}  // namespace kaya::tool
