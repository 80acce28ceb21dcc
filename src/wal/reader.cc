#include "kaya/wal/reader.h"

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/guard.h"
#include "kaya/wal/format.h"
#include "kaya/wal/writer.h"
#include "wal/log_dir.h"
#include "wal/segment_cursor.h"
#include "wal/segment_reader.h"

namespace kaya::wal {

Result<Lsn> first_lsn(const WalConfig& config, io::Disk& disk) {
  return core::guard([&]() -> Result<Lsn> {
    std::optional<uint64_t> gone;  // the first segment, released while it was read
    for (;;) {
      KAYA_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, log_dir::list_segments(disk));
      if (ids.empty()) return Lsn::first();
      Result<std::optional<Lsn>> lsn =
          log_dir::first_lsn(disk, ids.front(), config.max_record_bytes);
      // A release removed the first segment meanwhile: list again (each round finds a
      // higher first segment, or the error stands).
      if (!lsn.ok() && lsn.error().kind() == ErrorKind::kNotFound &&
          (!gone || ids.front() > *gone)) {
        gone = ids.front();
        continue;
      }
      KAYA_RETURN_IF_ERROR(lsn.status());
      // LSN 0 is no LSN, and an unreadable first record has none: read from 1, and the
      // reader reports the record.
      if (!*lsn || (*lsn)->value() == 0) return Lsn::first();
      return **lsn;
    }
  });
}

Result<std::unique_ptr<LogReader>> LogReader::open(const WalConfig& config,
                                                   io::Disk& disk, Lsn from) {
  return open(config, disk, from, ReadOptions{});
}

Result<std::unique_ptr<LogReader>> LogReader::open(const WalConfig& config,
                                                   io::Disk& disk, Lsn from,
                                                   ReadOptions options) {
  return core::guard([&]() -> Result<std::unique_ptr<LogReader>> {
    KAYA_RETURN_IF_ERROR(config.validate());
    KAYA_ASSIGN_OR_RETURN(
        std::unique_ptr<SegmentCursor> cursor,
        SegmentCursor::open(config, disk, from, std::nullopt, options.read_up_to_damage));
    return std::unique_ptr<LogReader>(new LogReader(std::move(cursor)));
  });
}

LogReader::LogReader(std::unique_ptr<SegmentCursor> cursor)
    : cursor_(std::move(cursor)) {}
LogReader::~LogReader() = default;

Result<std::optional<Record>> LogReader::next() {
  return core::guard([&] { return cursor_->next(); });
}

Result<std::optional<RecordView>> LogReader::next_view() {
  return core::guard([&] { return cursor_->next_view(); });
}

Lsn LogReader::position() const { return cursor_->position(); }

const std::optional<Error>& LogReader::stalled_on() const {
  return cursor_->stalled_on();
}

namespace {

// One step of a RecordRange over `next`: the record, or nullopt with `error` set when
// next() failed (and cleared when it ended without one).
template <typename Next>
auto range_step(std::optional<Error>& error, Next&& next)
    -> std::remove_cvref_t<decltype(*next())> {
  auto r = next();
  if (!r.ok()) {
    error = std::move(r).error();
    return std::nullopt;
  }
  error.reset();
  return std::move(*r);
}

}  // namespace

std::optional<Record> LogReader::range_step() {
  return wal::range_step(error_, [&] { return next(); });
}

std::optional<RecordView> LogReader::range_step_view() {
  return wal::range_step(error_, [&] { return next_view(); });
}

Result<std::unique_ptr<TailingReader>> TailingReader::open(Writer& writer, Lsn from,
                                                           TailOptions options) {
  return core::guard([&]() -> Result<std::unique_ptr<TailingReader>> {
    // Read before the cursor lists the segments: see LiveLog. The writer's next LSN
    // makes positions valid whose records are assigned but not written yet: the reader
    // waits for them like for any later record.
    const uint32_t epoch = writer.truncation_epoch();
    const WriterStats stats = writer.stats();
    const LiveLog live{stats.next_lsn, stats.durable_lsn_end};
    KAYA_ASSIGN_OR_RETURN(
        std::unique_ptr<SegmentCursor> cursor,
        SegmentCursor::open(writer.config(), writer.disk(), from, live));
    std::unique_ptr<TailingReader> reader(
        new TailingReader(writer, std::move(cursor), options));
    reader->epoch_ = epoch;
    return reader;
  });
}

TailingReader::TailingReader(Writer& writer, std::unique_ptr<SegmentCursor> cursor,
                             TailOptions options)
    : writer_(writer), cursor_(std::move(cursor)), options_(options) {}
TailingReader::~TailingReader() = default;

Lsn TailingReader::position() const { return cursor_->position(); }

std::optional<Record> TailingReader::range_step() {
  return wal::range_step(error_, [&] { return next(range_timeout_); });
}

std::optional<RecordView> TailingReader::range_step_view() {
  return wal::range_step(error_, [&] { return next_view(range_timeout_); });
}

Result<std::optional<Record>> TailingReader::next(std::chrono::microseconds timeout) {
  return core::guard([&]() -> Result<std::optional<Record>> {
    KAYA_ASSIGN_OR_RETURN(std::optional<RecordView> view, next_view(timeout));
    return cursor_->own(view);
  });
}

Result<std::optional<RecordView>> TailingReader::next_view(
    std::chrono::microseconds timeout) {
  return core::guard([&]() -> Result<std::optional<RecordView>> {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const Lsn position = cursor_->position();
    // The writer's visibility, not the bytes in the file, decides what may be yielded:
    // the file also holds records that are written but not durable yet.
    Lsn wanted = position;
    for (;;) {
      KAYA_ASSIGN_OR_RETURN(
          Lsn visible_end,
          writer_.wait_visible(wanted, !options_.include_relaxed, deadline));
      // At an epoch the reader did not open at, a visible record may reuse the LSN of
      // one the reader's buffer still holds (only the epoch tells them apart), and one
      // it waits for may never come: either way it fails, at its first call after.
      if (const uint32_t now = writer_.truncation_epoch(); now != epoch_) {
        return Error(ErrorKind::kNotFound,
                     "the log was truncated after the reader opened (truncation epoch " +
                         std::to_string(now) + ", the reader opened at epoch " +
                         std::to_string(epoch_) + "); the reader was at LSN " +
                         std::to_string(position.value()) + "; open a new reader");
      }
      if (visible_end <= wanted) return std::optional<RecordView>();

      // The writer marks a record written only once all its bytes are in the file, and
      // creates a segment only after finishing the one before, which the cursor reads
      // to its end before it moves on: a visible record is readable now, in full. An
      // atomic batch comes out whole once its last record is visible too: until then
      // the reader waits for more to become visible.
      KAYA_ASSIGN_OR_RETURN(std::optional<RecordView> record,
                            cursor_->next_view(visible_end));
      if (!record && cursor_->batch_waiting()) {
        wanted = visible_end;
        continue;
      }
      if (!record) {
        if (cursor_->stalled_on()) return *cursor_->stalled_on();
        return Error(ErrorKind::kInvariantViolation,
                     "LSN " + std::to_string(position.value()) +
                         " is visible (the writer's visible end is LSN " +
                         std::to_string(visible_end.value()) + ") but segment " +
                         std::to_string(cursor_->segment_id()) +
                         " holds no complete record at offset " +
                         std::to_string(cursor_->offset()));
      }
      if (record->lsn != position) {
        return Error(ErrorKind::kInvariantViolation,
                     "the reader expected LSN " + std::to_string(position.value()) +
                         " and read LSN " + std::to_string(record->lsn.value()));
      }
      return record;
    }
  });
}

}  // namespace kaya::wal
