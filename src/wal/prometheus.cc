// The Prometheus text exposition format (version 0.0.4) of kaya's metrics; the names,
// units and bucket bounds are documented in docs/metrics.md.

#include <cassert>
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "kaya/core/version.h"
#include "kaya/wal/format.h"
#include "kaya/wal/metrics.h"

namespace kaya::wal {
namespace {

// Histogram bucket bounds: 2^k - 1 in the histogram's unit, k = 1..max_bit. Each is
// the upper bound of an internal bucket (values are integers, and every power of two
// starts a bucket), so the cumulative count up to it is exact, not interpolated.
std::vector<uint64_t> exact_bounds(int max_bit) {
  std::vector<uint64_t> bounds;
  for (int k = 1; k <= max_bit; ++k) {
    const uint64_t bound = (uint64_t{1} << k) - 1;
    assert(Histogram::bucket_upper_bound(Histogram::bucket_index(bound)) == bound);
    bounds.push_back(bound);
  }
  return bounds;
}
constexpr int kDurationMaxBit = 25;  // 33.554431 s
constexpr int kCountMaxBit = 20;     // 1048575 records

// `value` / 10^6 written exactly ("0.000127", "33.554431", "2"): microseconds in
// seconds without a rounding step.
std::string micros_as_seconds(uint64_t micros) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%" PRIu64 ".%06" PRIu64, micros / 1'000'000,
                micros % 1'000'000);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

enum class Unit { kMicrosAsSeconds, kCount };

std::string in_unit(uint64_t value, Unit unit) {
  return unit == Unit::kMicrosAsSeconds ? micros_as_seconds(value)
                                        : std::to_string(value);
}

// Escaping of HELP text (backslash, newline) and of label values (also '"').
std::string escape(std::string_view text, bool quotes) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

class PromWriter {
 public:
  // One family: its HELP and TYPE lines. Samples follow with sample().
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += escape(help, false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // `labels` is already formatted (`a="b",c="d"`, values escaped by label()).
  void sample(std::string_view name, std::string_view labels, std::string_view value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void single(std::string_view name, std::string_view type, std::string_view help,
              uint64_t value) {
    family(name, type, help);
    sample(name, "", std::to_string(value));
  }
  void histogram(std::string_view name, std::string_view help, const Histogram& h,
                 Unit unit) {
    family(name, "histogram", help);
    const std::string bucket = std::string(name) + "_bucket";
    uint64_t cumulative = 0;
    int index = 0;
    for (uint64_t bound :
         exact_bounds(unit == Unit::kCount ? kCountMaxBit : kDurationMaxBit)) {
      for (; index <= Histogram::bucket_index(bound); ++index) {
        cumulative += h.bucket_count(index);
      }
      sample(bucket, label("le", in_unit(bound, unit)), std::to_string(cumulative));
    }
    sample(bucket, label("le", "+Inf"), std::to_string(h.count()));
    sample(std::string(name) + "_sum", "", in_unit(h.sum(), unit));
    sample(std::string(name) + "_count", "", std::to_string(h.count()));
  }
  static std::string label(std::string_view name, std::string_view value) {
    std::string out(name);
    out += "=\"";
    out += escape(value, true);
    return out + "\"";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

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

}  // namespace

std::string to_prometheus(const Metrics& m) {
  PromWriter p;
  p.family("kaya_build_info", "gauge", "The kaya library (always 1).");
  p.sample("kaya_build_info",
           PromWriter::label("version", version()) + "," +
               PromWriter::label("format_version", std::to_string(format_version())),
           "1");
  if (m.writer) writer_families(p, *m.writer);
  if (m.recovery) recovery_families(p, *m.recovery);
  return p.take();
}

}  // namespace kaya::wal
