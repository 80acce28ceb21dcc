// Writer::scrub(): reading the whole live log back, at a bounded rate, so that damage
// to sealed segments (which open no longer reads) is found while the writer runs.

#include "wal/scrub.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "kaya/wal/reader.h"
#include "wal/segment_cursor.h"
#include "wal/sequencer.h"

namespace kaya::wal {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t unix_ms_now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// When `bytes` may have been read at `bytes_per_second` since `start`.
Clock::time_point due(Clock::time_point start, uint64_t bytes,
                      uint64_t bytes_per_second) {
  const double seconds =
      static_cast<double>(bytes) / static_cast<double>(bytes_per_second);
  return start + std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(seconds));
}

}  // namespace

Result<ScrubReport> scrub(const WalConfig& config, io::Disk& disk, Sequencer& sequencer,
                          const ScrubOptions& options) {
  const Clock::time_point start = Clock::now();
  const uint64_t started_unix_ms = unix_ms_now();
  // The scrub checks the records durable now; later ones are the next scrub's.
  KAYA_ASSIGN_OR_RETURN(const LiveLog live, sequencer.live_log());
  const Lsn end = live.start_if_empty;

  ScrubReport report;
  // Counts the scrub (a corruption found too) and reports how it ended.
  auto finish = [&](bool complete, bool corruption) {
    report.complete = complete;
    report.duration_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start)
            .count());
    sequencer.count_scrub(report.bytes, complete, started_unix_ms, corruption);
    return report;
  };
  // Records cut under the scrub read as damage or as released: a truncation says so.
  const uint32_t epoch = sequencer.truncation_epoch();
  auto failed = [&](const Error& error) {
    if (sequencer.truncation_epoch() != epoch) {
      finish(false, false);
      return Error(ErrorKind::kNotFound,
                   "the log was truncated while the scrub read it (" + error.message() +
                       "); scrub again");
    }
    finish(false, error.kind() == ErrorKind::kCorruption);
    return error;
  };
  auto closed_error = [&](Lsn at) {
    return Error(
        ErrorKind::kInvalidArgument,
        "the writer was closed while the scrub was at LSN " + std::to_string(at.value()));
  };

  Result<Lsn> first = first_lsn(config, disk);
  if (!first.ok()) return failed(first.error());
  Lsn position = *first;
  std::unique_ptr<SegmentCursor> cursor;
  // (Re)opens the cursor at `position`. A release may overtake the scrub: the segment
  // to read is gone (NotFound), and what is left starts at the log's first LSN now,
  // past `position`. A NotFound that the first LSN does not explain stands.
  auto reopen = [&](std::optional<Error> not_found) -> std::optional<Error> {
    for (;;) {
      if (not_found) {
        Result<Lsn> now_first = first_lsn(config, disk);
        if (!now_first.ok()) return now_first.error();
        if (*now_first <= position) return not_found;
        position = *now_first;
      }
      if (position >= end) return std::nullopt;
      Result<std::unique_ptr<SegmentCursor>> opened =
          SegmentCursor::open(config, disk, position, live);
      if (opened.ok()) {
        cursor = std::move(*opened);
        return std::nullopt;
      }
      if (opened.error().kind() != ErrorKind::kNotFound) return opened.error();
      not_found = opened.error();
    }
  };
  if (std::optional<Error> error = reopen(std::nullopt)) return failed(*error);

  std::optional<uint64_t> segment;
  while (position < end) {
    if (options.stop.stop_requested()) return finish(false, false);
    Result<std::optional<Record>> record = cursor->next();
    if (!record.ok()) {
      // The segment being read was released meanwhile.
      if (record.error().kind() != ErrorKind::kNotFound) return failed(record.error());
      if (std::optional<Error> error = reopen(record.error())) return failed(*error);
      continue;
    }
    if (!*record) {
      // A durable record must be readable in full.
      if (cursor->stalled_on()) return failed(*cursor->stalled_on());
      return failed(Error(
          ErrorKind::kInvariantViolation,
          "LSN " + std::to_string(position.value()) + " is durable but segment " +
              std::to_string(cursor->segment_id()) +
              " holds no complete record at offset " + std::to_string(cursor->offset())));
    }
    const Record& r = **record;
    if (!report.first_lsn) report.first_lsn = r.lsn;
    report.last_lsn = r.lsn;
    report.records++;
    report.bytes += r.payload().encoded_len();
    if (segment != cursor->segment_id()) {
      segment = cursor->segment_id();
      report.segments++;
    }
    position = r.lsn.next();

    // Pace: wait until the bytes read so far are due, waking for a close or a stop.
    if (options.bytes_per_second == 0) continue;
    const Clock::time_point until = due(start, report.bytes, options.bytes_per_second);
    if (sequencer.pause(until, options.stop)) return failed(closed_error(position));
  }
  return finish(true, false);
}

}  // namespace kaya::wal
