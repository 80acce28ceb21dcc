#include "kaya/wal/metrics.h"

#include "core/guard.h"
#include "kaya/core/json.h"
#include "kaya/core/version.h"
#include "kaya/wal/format.h"

namespace kaya::wal {

std::string_view to_string(RecoveryOutcome outcome) {
  switch (outcome) {
    case RecoveryOutcome::kClean:
      return "clean";
    case RecoveryOutcome::kRepaired:
      return "repaired";
    case RecoveryOutcome::kFailed:
      return "failed";
  }
  return "unknown";
}

RecoveryMetrics RecoveryMetrics::from_report(const RecoveryReport& report) {
  RecoveryMetrics m;
  m.outcome = report.dropped.empty() && report.anomalies.empty()
                  ? RecoveryOutcome::kClean
                  : RecoveryOutcome::kRepaired;
  m.mode = report.mode;
  m.dry_run = report.dry_run;
  m.duration_us = report.duration_us;
  m.records = report.records;
  m.bytes = report.valid_bytes;
  m.segments = report.segments.size();
  for (const Anomaly& a : report.anomalies) {
    switch (a.kind) {
      case AnomalyKind::kTornTail:
        m.torn_tails++;
        break;
      case AnomalyKind::kLostAfterHole:
        m.lost_after_holes++;
        break;
      case AnomalyKind::kCorruption:
      case AnomalyKind::kNewerFormat:
      case AnomalyKind::kOverLimit:
        m.corruptions++;
        break;
    }
  }
  m.bytes_dropped = report.bytes_dropped;
  return m;
}

RecoveryMetrics RecoveryMetrics::from_error(const Error& error, RecoveryMode mode,
                                            uint64_t duration_us) {
  RecoveryMetrics m;
  m.outcome = RecoveryOutcome::kFailed;
  m.mode = mode;
  m.duration_us = duration_us;
  if (error.kind() == ErrorKind::kCorruption) m.corruptions = 1;
  m.error = error.to_string();
  return m;
}

Metrics collect_metrics(const Writer& writer) {
  return core::guard_value([&]() -> Metrics {
    Metrics m;
    m.writer = writer.stats();
    m.recovery = RecoveryMetrics::from_report(writer.recovery_report());
    return m;
  });
}

std::string histogram_json(const Histogram& h) {
  return core::guard_value([&]() -> std::string {
    std::string buckets = "[";
    for (int i = 0; i < Histogram::kBucketCount; ++i) {
      if (h.bucket_count(i) == 0) continue;
      if (buckets.size() > 1) buckets += ',';
      // Appended piece by piece: g++ 12 -O3 warns (falsely, -Wrestrict) on "[" + string.
      buckets += '[';
      buckets += std::to_string(Histogram::bucket_upper_bound(i));
      buckets += ',';
      buckets += std::to_string(h.bucket_count(i));
      buckets += ']';
    }
    buckets += "]";
    return json::Object()
        .num("count", h.count())
        .num("sum", h.sum())
        .num("min", h.min())
        .num("max", h.max())
        .real("mean", h.mean())
        .num("p50", h.percentile(50))
        .num("p90", h.percentile(90))
        .num("p99", h.percentile(99))
        .num("p999", h.percentile(99.9))
        .raw("buckets", buckets)
        .build();
  });
}

std::string to_json(const WriterStats& s) {
  return core::guard_value([&]() -> std::string {
    return json::Object()
        .num("records", s.records)
        .num("bytes", s.bytes)
        .num("strict_records", s.strict_records)
        .num("relaxed_records", s.relaxed_records)
        .num("fsyncs", s.fsyncs)
        .num("dir_fsyncs", s.dir_fsyncs)
        .num("rotations", s.rotations)
        .num("segments", s.segments)
        .num("segments_released", s.segments_released)
        .num("bytes_released", s.bytes_released)
        .num("active_segment_id", s.active_segment_id)
        .num("next_lsn", s.next_lsn.value())
        .num("durable_lsn_end", s.durable_lsn_end.value())
        .boolean("poisoned", s.poisoned)
        .num("full_checks", s.full_checks)
        .num("last_full_check_unix_ms", s.last_full_check_unix_ms)
        .num("scrub_bytes", s.scrub_bytes)
        .num("scrub_corruptions", s.scrub_corruptions)
        .num("truncations", s.truncations)
        .num("segments_truncated", s.segments_truncated)
        .num("async_appends", s.async_appends)
        .num("async_in_flight_bytes", s.async_in_flight_bytes)
        .num("async_in_flight_bytes_peak", s.async_in_flight_bytes_peak)
        .raw("fsync_duration_us", histogram_json(s.fsync_duration_us))
        .raw("records_per_fsync", histogram_json(s.records_per_fsync))
        .raw("batch_wait_us", histogram_json(s.batch_wait_us))
        .build();
  });
}

std::string to_json(const RecoveryMetrics& r) {
  return core::guard_value([&]() -> std::string {
    json::Object j;
    j.str("outcome", to_string(r.outcome))
        .str("mode", to_string(r.mode))
        .boolean("dry_run", r.dry_run)
        .num("duration_us", r.duration_us)
        .num("records", r.records)
        .num("bytes", r.bytes)
        .num("segments", r.segments)
        .num("torn_tails", r.torn_tails)
        .num("lost_after_holes", r.lost_after_holes)
        .num("corruptions", r.corruptions)
        .num("bytes_dropped", r.bytes_dropped);
    return (r.error.empty() ? j.raw("error", "null") : j.str("error", r.error)).build();
  });
}

std::string to_json(const Metrics& m) {
  return core::guard_value([&]() -> std::string {
    return json::Object()
        .str("version", version())
        .num("format_version", format_version())
        .raw("writer", m.writer ? to_json(*m.writer) : "null")
        .raw("recovery", m.recovery ? to_json(*m.recovery) : "null")
        .build();
  });
}

}  // namespace kaya::wal
