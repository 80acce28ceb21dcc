/// @file
/// @brief Writer and recovery metrics: a struct, JSON, and the Prometheus text format.
///
/// An engine collects a snapshot with collect_metrics() and serves it wherever it
/// likes (its own HTTP endpoint, a log line, a file): kaya opens no socket and starts
/// no thread. An engine with several logs serves them in one Prometheus exposition,
/// each with labels of its own. Names, units, the JSON schema and the histogram bucket
/// mapping are in docs/metrics.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kaya/core/export.h"
#include "kaya/core/histogram.h"
#include "kaya/core/status.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"

namespace kaya::wal {

/// How a recovery ended.
enum class RecoveryOutcome {
  kClean,     ///< Nothing to drop: every byte of every segment is a valid record.
  kRepaired,  ///< Bytes were dropped (a torn tail, or what point-in-time mode cut off);
              ///< in a dry run: would be dropped.
  kFailed,    ///< Recovery returned an error (e.g. Corruption in the default mode).
};

/// "clean", "repaired" or "failed".
KAYA_API std::string_view to_string(RecoveryOutcome outcome);

/// What a recovery did, in numbers (from a RecoveryReport, or from its error).
struct KAYA_API RecoveryMetrics {
  RecoveryOutcome outcome = RecoveryOutcome::kClean;  ///< How it ended.
  RecoveryMode mode = RecoveryMode::kDefault;         ///< The mode it ran in.
  bool dry_run = false;                               ///< A dry run changed nothing.
  uint64_t duration_us = 0;                           ///< Wall time of the recovery.
  uint64_t records = 0;                               ///< Valid records kept.
  uint64_t bytes = 0;       ///< Bytes of the valid records kept.
  uint64_t segments = 0;    ///< Segments kept.
  uint64_t torn_tails = 0;  ///< Torn tails found (0 or 1).
  /// Records after a hole beyond the recovery point, moved to wal/lost/ (0 or 1).
  uint64_t lost_after_holes = 0;
  uint64_t corruptions = 0;    ///< Corruptions found (0 or 1: recovery stops at one).
  uint64_t bytes_dropped = 0;  ///< Bytes dropped (or, in a dry run, that would be).
  std::string error;           ///< kFailed: the error's text; empty otherwise.

  /// The metrics of a recovery that returned `report`.
  static RecoveryMetrics from_report(const RecoveryReport& report);
  /// The metrics of a recovery in `mode` that failed with `error` after `duration_us`.
  static RecoveryMetrics from_error(const Error& error, RecoveryMode mode,
                                    uint64_t duration_us);
};

/// A snapshot of everything kaya measures. Either part may be absent: a process that
/// only ran recover() has no writer statistics.
struct Metrics {
  std::optional<WriterStats> writer;        ///< Writer::stats().
  std::optional<RecoveryMetrics> recovery;  ///< The recovery before the writer opened.
};

/// The writer's statistics and the metrics of the recovery that opened it. Thread-safe
/// like Writer::stats(); cheap enough to call on every scrape.
KAYA_API Metrics collect_metrics(const Writer& writer);

/// The metrics as one JSON object (docs/metrics.md): {"version", "writer",
/// "recovery"}, an absent part being null. No newline at the end.
KAYA_API std::string to_json(const Metrics& metrics);
/// WriterStats as the JSON object found under "writer" in to_json(const Metrics&).
KAYA_API std::string to_json(const WriterStats& stats);
/// RecoveryMetrics as the JSON object found under "recovery".
KAYA_API std::string to_json(const RecoveryMetrics& recovery);

/// A histogram as JSON: {"count", "sum", "min", "max", "mean", "p50", "p90", "p99",
/// "p999", "buckets"}, where "buckets" lists [upper bound, count] of each non-empty
/// internal bucket in increasing order (see kaya/core/histogram.h). Values are in the
/// histogram's own unit (microseconds for durations).
KAYA_API std::string histogram_json(const Histogram& histogram);

/// The metrics in the Prometheus text exposition format (version 0.0.4): "# HELP" and
/// "# TYPE" lines, then the samples of each family; "_total" counters, durations in
/// seconds, histograms with cumulative "le" buckets, "_sum" and "_count". Ends with a
/// newline. Serve it with the content type "text/plain; version=0.0.4".
KAYA_API std::string to_prometheus(const Metrics& metrics);

/// Constant labels: (name, value) pairs that every sample of one log carries, e.g.
/// {{"log", "orders"}}. They come first in each sample's labels, in this order, before
/// the family's own labels ("le" stays last). A name matches [a-zA-Z_][a-zA-Z0-9_]*,
/// does not start with "__", appears once, and is none of the names kaya's families
/// use themselves: le, durability, outcome, mode, kind, version, format_version. A
/// value is non-empty UTF-8 (Prometheus reads an empty value as no label at all); it
/// is escaped as the text format requires (backslash, double quote, line feed).
using PrometheusLabels = std::vector<std::pair<std::string, std::string>>;

/// One log of an exposition that serves several: its metrics and the constant labels
/// that tell its series apart from the other logs'.
struct LabelledMetrics {
  PrometheusLabels labels;  ///< E.g. {{"log", "orders"}}; a set no other log has.
  Metrics metrics;          ///< E.g. collect_metrics() of the log's writer.
};

/// to_prometheus(metrics) with `labels` on every sample, kaya_build_info included;
/// with no labels, exactly to_prometheus(metrics). InvalidArgument naming the label
/// when a label breaks a rule of PrometheusLabels; Internal when memory runs out. No
/// exception escapes.
KAYA_API Result<std::string> to_prometheus(const Metrics& metrics,
                                           const PrometheusLabels& labels);

/// Several logs in one exposition: each family's "# HELP" and "# TYPE" once, followed
/// by the samples of every log that has the family, a log after another, in the order
/// of `logs`, each sample with its log's labels. Families appear in the order of
/// to_prometheus(metrics); a family is left out when no log has it. No logs: an empty
/// exposition. InvalidArgument when a label breaks a rule of PrometheusLabels (the
/// message names the log, "logs[i]", and the label) or when two logs have the same
/// label set, in any order (their series would be duplicates: the message names both);
/// Internal when memory runs out. No exception escapes.
KAYA_API Result<std::string> to_prometheus(std::span<const LabelledMetrics> logs);

}  // namespace kaya::wal
