/// @file
/// Reading the log from any LSN, and following it while a writer appends.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "kaya/core/export.h"
#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/config.h"

namespace kaya::wal {

class Writer;
class SegmentCursor;

/// The records of a reader as a single-pass range, for range-for:
///
///     for (const Record& r : reader->records()) apply(r);
///     if (reader->error()) return *reader->error();
///
/// Each step calls the reader's next(), or, for a range of views
/// (`RecordRange<Reader, RecordView>`, made by the readers' record_views()), its
/// next_view(): the view the iterator yields is valid until the iterator steps again
/// (the next call on the reader). The range ends where that call returns nullopt (the
/// end of the log for a LogReader; no record within the timeout for a TailingReader)
/// or an error, which the reader's error() then holds. Made by the readers' records()
/// and record_views(); valid while the reader lives.
template <typename Reader, typename Value = Record>
class RecordRange {
  static_assert(std::is_same_v<Value, Record> || std::is_same_v<Value, RecordView>,
                "a reader yields Records or RecordViews");

 public:
  /// An input iterator over the records.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;  ///< single pass
    using value_type = Value;                           ///< what it yields
    using difference_type = std::ptrdiff_t;             ///< as iterators have
    using pointer = const Value*;                       ///< operator->()
    using reference = const Value&;                     ///< operator*()

    iterator() = default;
    /// The record read last.
    reference operator*() const { return record_; }
    /// The record read last.
    pointer operator->() const { return &record_; }
    /// Reads the next record (or ends the range).
    iterator& operator++() {
      step();
      return *this;
    }
    /// Reads the next record (or ends the range).
    void operator++(int) { step(); }
    /// True once the range has ended.
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.reader_ == nullptr;
    }

   private:
    friend class RecordRange;
    explicit iterator(Reader* reader) : reader_(reader) { step(); }
    void step() {
      std::optional<Value> next;
      if constexpr (std::is_same_v<Value, RecordView>) {
        next = reader_->range_step_view();
      } else {
        next = reader_->range_step();
      }
      if (next) {
        record_ = std::move(*next);
      } else {
        reader_ = nullptr;
      }
    }
    Reader* reader_ = nullptr;
    Value record_;
  };

  /// Reads the first record.
  iterator begin() { return iterator(&reader_); }
  /// Where the range ends (compared with an iterator).
  std::default_sentinel_t end() const { return {}; }

 private:
  friend Reader;
  explicit RecordRange(Reader& reader) : reader_(reader) {}
  Reader& reader_;
};

/// The LSN of the log's first record (segments below it may have been released), from
/// the first segment's first header. LSN 1 for a log without records, and when that
/// record cannot be read: a reader opened there reports why.
KAYA_API Result<Lsn> first_lsn(const WalConfig& config, io::Disk& disk);

/// How a LogReader treats damage that open() meets before it has read any record.
struct ReadOptions {
  /// Off (the default): open() fails with Corruption when the log's shape is damaged (a
  /// missing segment, or a segment that is not the last and is empty or has no valid
  /// first record, at or below the recovery point or in a log without one; beyond it
  /// that is a hole, and the log ends before it) or when a record below `from`, which
  /// it skips, is damaged: nothing is read from such a log.
  ///
  /// On: open() does not fail for that damage. next() and next_view() return the
  /// records from `from` that lie before it, in LSN order, then the Corruption error
  /// open() would have returned (the judgement's words, naming the segment, offset and
  /// LSN), and return that error at every later call. What the reader meets before it
  /// (a damaged record, an LSN out of order) ends the records as without the option.
  /// With the damage below `from`, the first call returns the error. For showing what
  /// a damaged log still holds, as `kaya-wal dump` does; the reader writes nothing
  /// either way (recovery, kaya/wal/recovery.h, is what cuts or moves damage aside).
  /// open()'s other errors (a released or past-the-end `from`, an unreadable recovery
  /// point, I/O errors) stay open()'s.
  bool read_up_to_damage = false;
};

/// Reads records in LSN order starting at any LSN. Finds the starting segment by a
/// binary search over the segments' first LSNs (one header read per probe), not by
/// scanning the log. Memory: one read buffer plus the largest record, or the largest
/// atomic batch.
///
/// Atomic batches (Writer::append_batch, docs/batches.md) come out whole or not at
/// all: the reader returns a batch's first record only once the batch's last record is
/// readable and verified, then its records in order. At a batch whose last record is
/// not there (a write in progress, or a log cut inside a batch that recovery has not
/// seen yet) it stops as at the end of the log, without returning any of it.
///
/// Not thread-safe; any number of readers may read one log, also while a writer
/// appends and releases segments. `disk` must outlive the reader.
class LogReader {
 public:
  /// Positions the reader at `from`. NotFound when `from` is below the first LSN still
  /// in the log (released); InvalidArgument when it is past the end (the log's next
  /// LSN is the largest valid `from`: a reader there starts at the end); Corruption
  /// for the damage ReadOptions::read_up_to_damage describes.
  KAYA_API static Result<std::unique_ptr<LogReader>> open(const WalConfig& config,
                                                          io::Disk& disk, Lsn from);
  /// open(config, disk, from) with `options` (ReadOptions: whether damage open() meets
  /// fails it or ends the records instead).
  KAYA_API static Result<std::unique_ptr<LogReader>> open(const WalConfig& config,
                                                          io::Disk& disk, Lsn from,
                                                          ReadOptions options);
  KAYA_API ~LogReader();

  /// The next record, or nullopt at the end of the log (an incomplete record at the end
  /// of the last segment, a write in progress or a torn tail, reads as the end, and so
  /// does an atomic batch whose last record is not readable yet: stalled_on() then
  /// names it; a later call returns the batch once it is whole).
  /// Corruption, naming segment, offset and LSN, for damaged data or an LSN out of
  /// order; NotFound when the segment being read was released meanwhile, or when the
  /// log was truncated (Writer::truncate_after, also by another process) since the
  /// reader opened and it would read records written after the truncation began (the
  /// message names the new truncation epoch; no record whose LSN was handed out again
  /// is returned); a truncation pending when the reader opened ends the log at its cut;
  /// Internal
  /// "out of memory ...", naming the record, when it does not fit in the memory left.
  /// After an error, open a new reader at the LSN wanted to try again.
  KAYA_API Result<std::optional<Record>> next();

  /// next() without copying: the same record, nullopt and errors, in the same
  /// circumstances, with key and value viewing the reader's read buffer instead of
  /// owned strings. Allocates nothing per record: what it allocates comes with reading
  /// more of the log (a refill of the read buffer, about once per MiB, or a move to the
  /// next segment) or with a record larger than any before (the buffer grows).
  ///
  /// Lifetime: the view's key and value stay valid until this reader reads again (a
  /// call of next() or next_view(), or a range from records() or record_views()
  /// reading its next record: begin() or ++) or is destroyed, whichever comes first;
  /// position(), stalled_on() and error() leave them valid, and so does anything a
  /// writer does to the log. The records of an atomic batch all come from the buffer,
  /// which holds the whole batch: the views of every record of a batch stay valid
  /// until the call after the one that returned its last record. Copy what must
  /// outlive that (RecordView::to_record()). lsn, sequence and type are plain values.
  KAYA_API Result<std::optional<RecordView>> next_view();

  /// The LSN of the record next() returns next.
  KAYA_API Lsn position() const;

  /// Why the last next() or next_view() returned nullopt, when it stopped on bytes that
  /// are not a record rather than at the clean end of the log: a torn tail (an
  /// incomplete atomic batch at the end of the log included), or records after a hole
  /// beyond the recovery point (recovery cuts or moves them; docs/recovery.md).
  /// nullopt at a clean end.
  KAYA_API const std::optional<Error>& stalled_on() const;

  /// The records from position() to the end of the log, for range-for (RecordRange).
  RecordRange<LogReader> records() { return RecordRange<LogReader>(*this); }
  /// The records from position() to the end of the log as views (next_view()), for
  /// range-for: each view is valid until the loop steps to the next one.
  ///
  ///     for (const RecordView& r : reader->record_views()) apply(r.key, r.value);
  ///     if (reader->error()) return *reader->error();
  RecordRange<LogReader, RecordView> record_views() {
    return RecordRange<LogReader, RecordView>(*this);
  }
  /// The error that ended the last records() or record_views() range; nullopt when it
  /// ended at the end of the log (see stalled_on() for why there).
  const std::optional<Error>& error() const { return error_; }

 private:
  friend class RecordRange<LogReader>::iterator;
  friend class RecordRange<LogReader, RecordView>::iterator;
  explicit LogReader(std::unique_ptr<SegmentCursor> cursor);
  // next() and next_view() for the ranges: nullopt at the end or on an error (kept in
  // error_).
  KAYA_API std::optional<Record> range_step();
  KAYA_API std::optional<RecordView> range_step_view();
  std::unique_ptr<SegmentCursor> cursor_;
  std::optional<Error> error_;
};

/// How a TailingReader follows the log.
struct TailOptions {
  /// Also yield relaxed records once written, before they are durable. Such records
  /// survive a crash of the process but may be taken back by a power loss. Off by
  /// default: only durable records are yielded.
  bool include_relaxed = false;
};

/// Follows a live log: yields records as they become durable (or written, with
/// include_relaxed) and waits at the end, surviving segment rotation. Never yields a
/// record that a crash could take back in the chosen mode.
///
/// Atomic batches (Writer::append_batch) come out whole: the reader waits at a batch
/// until its last record is visible (durable, or written with include_relaxed),
/// readable and verified, and returns none of it before; then its records in order.
/// Memory: one read buffer plus the largest record, or the largest batch.
///
/// Not thread-safe. `writer` must outlive the reader.
class TailingReader {
 public:
  /// NotFound when `from` was released; InvalidArgument when it is past the writer's
  /// next LSN.
  KAYA_API static Result<std::unique_ptr<TailingReader>> open(Writer& writer, Lsn from,
                                                              TailOptions options = {});
  KAYA_API ~TailingReader();

  /// The next record, waiting up to `timeout` for it to become visible; nullopt when
  /// the timeout passes first. Errors: the writer was poisoned or closed before the
  /// record became visible; the record's segment was released (NotFound); the log was
  /// truncated since the reader opened (Writer::truncate_after: NotFound naming the
  /// new epoch; no record whose LSN was handed out again is returned); corruption.
  KAYA_API Result<std::optional<Record>> next(std::chrono::microseconds timeout);

  /// next(timeout) without copying: the same record, nullopt and errors, in the same
  /// circumstances, with key and value viewing the reader's read buffer instead of
  /// owned strings. Allocates nothing per record (as LogReader::next_view()).
  ///
  /// Lifetime: the view's key and value stay valid until this reader reads again (a
  /// call of next() or next_view(), or a range from records() or record_views()
  /// reading its next record: begin() or ++) or is destroyed, whichever comes first;
  /// position() and error() leave them valid, and so does anything the writer does
  /// (appends, syncs, rotations, releases, truncations). The views of every record of
  /// an atomic batch stay valid until the call after the one that returned its last
  /// record (the buffer holds the whole batch).
  /// Copy what must outlive that (RecordView::to_record()). lsn, sequence and type
  /// are plain values.
  KAYA_API Result<std::optional<RecordView>> next_view(std::chrono::microseconds timeout);

  /// The LSN of the record next() returns next.
  KAYA_API Lsn position() const;

  /// The records from position() on, for range-for (RecordRange): each waits up to
  /// `timeout`; the range ends when none becomes visible in time, or on an error.
  RecordRange<TailingReader> records(std::chrono::microseconds timeout) {
    range_timeout_ = timeout;
    return RecordRange<TailingReader>(*this);
  }
  /// The records from position() on as views (next_view(timeout)), for range-for:
  /// each waits up to `timeout` and is valid until the loop steps to the next one; the
  /// range ends when none becomes visible in time, or on an error.
  RecordRange<TailingReader, RecordView> record_views(std::chrono::microseconds timeout) {
    range_timeout_ = timeout;
    return RecordRange<TailingReader, RecordView>(*this);
  }
  /// The error that ended the last records() or record_views() range; nullopt when it
  /// ended because no record came within the timeout.
  const std::optional<Error>& error() const { return error_; }

 private:
  friend class RecordRange<TailingReader>::iterator;
  friend class RecordRange<TailingReader, RecordView>::iterator;
  TailingReader(Writer& writer, std::unique_ptr<SegmentCursor> cursor,
                TailOptions options);
  // next(range_timeout_) and next_view(range_timeout_) for the ranges: nullopt at the
  // timeout or on an error (kept in error_).
  KAYA_API std::optional<Record> range_step();
  KAYA_API std::optional<RecordView> range_step_view();
  Writer& writer_;
  std::unique_ptr<SegmentCursor> cursor_;
  TailOptions options_;
  std::chrono::microseconds range_timeout_{0};
  std::optional<Error> error_;
  uint32_t epoch_ = 0;  // the writer's truncation epoch when the reader opened
};

}  // namespace kaya::wal
