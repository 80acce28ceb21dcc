// kaya's metrics in the Prometheus text exposition format (version 0.0.4): the families
// kaya exports (names, units and bucket bounds documented in docs/metrics.md), the
// rules for a log's constant labels, and to_prometheus(). The format itself is
// written by prometheus_writer.h.

#include <algorithm>
#include <map>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/guard.h"
#include "kaya/core/json.h"
#include "kaya/core/version.h"
#include "kaya/wal/format.h"
#include "kaya/wal/metrics.h"
#include "wal/prometheus_writer.h"

namespace kaya::wal {
namespace {

using prom::micros_as_seconds;
using prom::PromWriter;
using prom::Unit;

void writer_families(PromWriter& p, const WriterStats& s) {
  p.single("kaya_wal_records_total", "counter", "Records written to the log.", s.records);
  p.single("kaya_wal_bytes_total", "counter", "Bytes of records written to the log.",
           s.bytes);
  p.family("kaya_wal_appends_total", "counter",
           "Appends acknowledged, by durability mode.");
  p.sample("kaya_wal_appends_total", PromWriter::label("durability", "strict"),
           std::to_string(s.strict_records));
  p.sample("kaya_wal_appends_total", PromWriter::label("durability", "relaxed"),
           std::to_string(s.relaxed_records));
  p.single("kaya_wal_fsyncs_total", "counter", "fsync calls on segment data.", s.fsyncs);
  p.single("kaya_wal_dir_fsyncs_total", "counter", "fsync calls on the wal directory.",
           s.dir_fsyncs);
  p.single("kaya_wal_rotations_total", "counter", "Segments closed for a new one.",
           s.rotations);
  p.single("kaya_wal_released_segments_total", "counter",
           "Segments removed by release_before.", s.segments_released);
  p.single("kaya_wal_released_bytes_total", "counter", "Bytes removed by release_before.",
           s.bytes_released);
  p.single("kaya_wal_segments", "gauge", "Segments in the log.", s.segments);
  p.single("kaya_wal_active_segment_id", "gauge", "Id of the segment being appended to.",
           s.active_segment_id);
  p.single("kaya_wal_next_lsn", "gauge", "LSN the next append gets.", s.next_lsn.value());
  p.single("kaya_wal_durable_lsn", "gauge",
           "Every LSN up to this one is durable (0: none yet).",
           s.durable_lsn_end.value() - 1);
  p.single("kaya_wal_poisoned", "gauge",
           "1 when a failed write or fsync poisoned the writer (reopen the log).",
           s.poisoned ? 1 : 0);
  p.single("kaya_wal_full_checks_total", "counter",
           "Full checks of the log: complete scrubs, and an open that read every "
           "segment.",
           s.full_checks);
  p.family("kaya_wal_last_full_check_timestamp_seconds", "gauge",
           "When the last full check started, in seconds since the Unix epoch (0: none "
           "since the writer opened).");
  p.sample("kaya_wal_last_full_check_timestamp_seconds", "",
           micros_as_seconds(s.last_full_check_unix_ms * 1000));
  p.single("kaya_wal_scrub_bytes_total", "counter", "Bytes of records read by scrubs.",
           s.scrub_bytes);
  p.single("kaya_wal_scrub_corruptions_total", "counter",
           "Scrubs that ended on corrupt records.", s.scrub_corruptions);
  p.single("kaya_wal_truncations_total", "counter",
           "truncate_after calls that removed records.", s.truncations);
  p.single("kaya_wal_truncated_segments_total", "counter",
           "Segment files truncate_after removed whole.", s.segments_truncated);
  p.single("kaya_wal_async_appends_total", "counter", "Appends accepted by append_async.",
           s.async_appends);
  p.single("kaya_wal_async_in_flight_bytes", "gauge",
           "Encoded bytes of asynchronous appends accepted and not yet completed.",
           s.async_in_flight_bytes);
  p.single("kaya_wal_async_in_flight_bytes_peak", "gauge",
           "The most async in-flight bytes since the writer opened.",
           s.async_in_flight_bytes_peak);
  p.histogram("kaya_wal_fsync_duration_seconds",
              "Duration of each fsync of segment data.", s.fsync_duration_us,
              Unit::kMicrosAsSeconds);
  p.histogram("kaya_wal_records_per_fsync", "Records made durable by each fsync.",
              s.records_per_fsync, Unit::kCount);
  p.histogram("kaya_wal_batch_wait_seconds",
              "Time a sync leader waited for companions (group commit).", s.batch_wait_us,
              Unit::kMicrosAsSeconds);
}

void recovery_families(PromWriter& p, const RecoveryMetrics& r) {
  p.family("kaya_recovery_outcome", "gauge",
           "How the last recovery ended: 1 for its outcome, 0 for the others.");
  for (RecoveryOutcome o :
       {RecoveryOutcome::kClean, RecoveryOutcome::kRepaired, RecoveryOutcome::kFailed}) {
    p.sample("kaya_recovery_outcome", PromWriter::label("outcome", to_string(o)),
             r.outcome == o ? "1" : "0");
  }
  p.family("kaya_recovery_info", "gauge", "The mode of the last recovery (always 1).");
  p.sample("kaya_recovery_info", PromWriter::label("mode", to_string(r.mode)), "1");
  p.family("kaya_recovery_duration_seconds", "gauge", "Duration of the last recovery.");
  p.sample("kaya_recovery_duration_seconds", "", micros_as_seconds(r.duration_us));
  p.single("kaya_recovery_records", "gauge", "Records the last recovery kept.",
           r.records);
  p.single("kaya_recovery_bytes", "gauge", "Bytes of the records the last recovery kept.",
           r.bytes);
  p.single("kaya_recovery_segments", "gauge", "Segments the last recovery kept.",
           r.segments);
  p.single("kaya_recovery_dropped_bytes", "gauge", "Bytes the last recovery dropped.",
           r.bytes_dropped);
  p.family("kaya_recovery_anomalies", "gauge",
           "Anomalies the last recovery found, by kind.");
  p.sample("kaya_recovery_anomalies", PromWriter::label("kind", "torn_tail"),
           std::to_string(r.torn_tails));
  p.sample("kaya_recovery_anomalies", PromWriter::label("kind", "lost_after_hole"),
           std::to_string(r.lost_after_holes));
  p.sample("kaya_recovery_anomalies", PromWriter::label("kind", "corruption"),
           std::to_string(r.corruptions));
}

void build_family(PromWriter& p) {
  p.family("kaya_build_info", "gauge", "The kaya library (always 1).");
  p.sample("kaya_build_info",
           PromWriter::label("version", version()) + "," +
               PromWriter::label("format_version", std::to_string(format_version())),
           "1");
}

// A log of an exposition: its metrics and its constant labels, formatted.
struct Log {
  const Metrics* metrics;
  std::string labels;
};

// The families of every log: the build, then the writers', then the recoveries', so
// that the order of the families does not depend on which log has which part.
std::string render(std::span<const Log> logs) {
  PromWriter p;
  for (const Log& log : logs) {
    p.start_log(log.labels);
    build_family(p);
  }
  for (const Log& log : logs) {
    if (!log.metrics->writer) continue;
    p.start_log(log.labels);
    writer_families(p, *log.metrics->writer);
  }
  for (const Log& log : logs) {
    if (!log.metrics->recovery) continue;
    p.start_log(log.labels);
    recovery_families(p, *log.metrics->recovery);
  }
  return p.take();
}

// ---- Constant labels --------------------------------------------------------------

Error invalid_label(std::string_view name, std::string_view why) {
  std::string message = "Prometheus label ";
  message += json::json_quote(name);  // quoted and escaped: the name may be anything
  message += ": ";
  message += why;
  return Error(ErrorKind::kInvalidArgument, std::move(message));
}

bool is_label_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// The rules of PrometheusLabels (kaya/wal/metrics.h) for one label.
Status check_label(std::string_view name, std::string_view value) {
  if (!is_label_name(name)) {
    return invalid_label(name, "the name does not match [a-zA-Z_][a-zA-Z0-9_]*");
  }
  if (name.substr(0, 2) == "__") {
    return invalid_label(name,
                         "names that start with \"__\" are reserved for Prometheus");
  }
  if (prom::is_own_label_name(name)) {
    std::string why = "kaya's families use this name themselves (";
    for (std::string_view own : prom::kOwnLabelNames) {
      if (own != prom::kOwnLabelNames.front()) why += ", ";
      why += own;
    }
    return invalid_label(name, why + ")");
  }
  if (value.empty()) {
    return invalid_label(name,
                         "the value is empty, which Prometheus reads as no label at all");
  }
  if (!json::is_valid_utf8(value)) {
    return invalid_label(name, "the value is not valid UTF-8");
  }
  return ok_status();
}

// `labels` as they go into a sample (`a="x",b="y"`, values escaped), or
// InvalidArgument naming the first label that breaks a rule.
Result<std::string> format_labels(const PrometheusLabels& labels) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& [name, value] = labels[i];
    KAYA_RETURN_IF_ERROR(check_label(name, value));
    for (size_t j = 0; j < i; ++j) {
      if (labels[j].first == name) return invalid_label(name, "the name appears twice");
    }
    if (!out.empty()) out += ',';
    prom::append_label(out, name, value);
  }
  return out;
}

// InvalidArgument when two logs have the same label set, in any order: Prometheus
// would take their series for duplicates.
Status check_distinct(std::span<const LabelledMetrics> logs,
                      std::span<const Log> formatted) {
  std::map<PrometheusLabels, size_t> seen;  // sorted label set -> first log with it
  for (size_t i = 0; i < logs.size(); ++i) {
    PrometheusLabels set = logs[i].labels;
    std::sort(set.begin(), set.end());
    const auto [it, added] = seen.emplace(std::move(set), i);
    if (added) continue;
    std::string message = "logs[";
    message += std::to_string(it->second);
    message += "] and logs[";
    message += std::to_string(i);
    message += "] have the same Prometheus labels {";
    message += formatted[i].labels;
    message += "}: their series would be duplicates; give each log labels of its own";
    return Error(ErrorKind::kInvalidArgument, std::move(message));
  }
  return ok_status();
}

}  // namespace

std::string to_prometheus(const Metrics& m) {
  return core::guard_value([&] {
    const Log log{&m, ""};
    return render({&log, 1});
  });
}

Result<std::string> to_prometheus(const Metrics& m, const PrometheusLabels& labels) {
  // Every allocation is inside the guard: none may throw across the API.
  return core::guard([&]() -> Result<std::string> {
    KAYA_ASSIGN_OR_RETURN(std::string formatted, format_labels(labels));
    const Log log{&m, std::move(formatted)};
    return render({&log, 1});
  });
}

Result<std::string> to_prometheus(std::span<const LabelledMetrics> logs) {
  return core::guard([&]() -> Result<std::string> {
    std::vector<Log> formatted;
    formatted.reserve(logs.size());
    for (size_t i = 0; i < logs.size(); ++i) {
      auto labels = format_labels(logs[i].labels);
      if (!labels.ok()) {
        std::string where = "logs[";
        where += std::to_string(i);
        where += ']';
        return labels.error().with_context(where);
      }
      formatted.push_back(Log{&logs[i].metrics, std::move(labels).value()});
    }
    KAYA_RETURN_IF_ERROR(check_distinct(logs, formatted));
    return render(formatted);
  });
}

}  // namespace kaya::wal
