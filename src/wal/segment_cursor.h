// Reads records in LSN order across segments, from any LSN; the engine under LogReader
// and TailingReader. Internal.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/config.h"
#include "wal/log_scan.h"
#include "wal/segment_locate.h"
#include "wal/segment_reader.h"

namespace kaya::wal {

// What a live writer knows about the log beyond what is on disk.
struct LiveLog {
  // The writer's next LSN: positions up to it are valid even before their records
  // are written.
  Lsn next_lsn;
  // The LSN the log starts at if no record is on disk: the writer's durable end read
  // *before* the segments are listed (when the listing finds no record, nothing was
  // written when it was read, so the writer's first record gets exactly this LSN).
  Lsn start_if_empty;
};

// A position in the log that can be advanced record by record, also while a writer
// appends, rotates and releases segments. next() reports "no complete record here
// yet" as nullopt and can be called again later to see what was appended since.
//
// The records of an atomic batch come out only once the batch's last record is
// readable and verified (then one by one, all from the buffer: the views of all of
// them stay valid until the call after the batch's last one); until then the cursor
// stops before the batch as at the end of what is written (batch_waiting()).
//
// Invariants checked on every record: LSNs are contiguous from the first record read,
// within and across segments. Memory: one SegmentReader buffer plus one record, or
// plus one atomic batch.
// Not thread-safe. `disk` must outlive the cursor.
class SegmentCursor {
 public:
  // Positions the cursor at `from`: finds the last segment whose first LSN is <= `from`
  // by a binary search over the segments' first LSNs, then skips the records below
  // `from` in it. With `live`, `from` may be any LSN up to the writer's next LSN.
  // Errors: InvalidArgument for LSN 0 or `from` past the end; NotFound when `from` is
  // below the log's first LSN (released); Corruption for a damaged shape (a missing
  // segment; an empty or unreadable segment that is not the last) or met while
  // skipping. With `read_up_to_damage` (ReadOptions) that Corruption is kept instead:
  // next_view() returns the records before it, then it (damage_).
  static Result<std::unique_ptr<SegmentCursor>> open(const WalConfig& config,
                                                     io::Disk& disk, Lsn from,
                                                     std::optional<LiveLog> live,
                                                     bool read_up_to_damage = false);

  // The record at position(), or nullopt when no complete record is there right now
  // (end of the log, a write in progress, a torn tail). Moves to the next segment at a
  // clean end of the current one. Errors: Corruption (damaged data in a segment that
  // is not the last or followed by a valid record; an LSN out of order), NotFound (the
  // segment being read was released), I/O errors.
  // The view's key and value point into the current SegmentReader's buffer: valid
  // until the next call of next_view() or next() (which may refill or replace it).
  // Allocates nothing while records come from the buffer.
  // `visible_end`: a batch is returned only when its last LSN is below it (a live
  // writer's visible end); the cursor stops before one that is not.
  Result<std::optional<RecordView>> next_view(std::optional<Lsn> visible_end = {});
  // next_view(), copied for the caller (own()).
  Result<std::optional<Record>> next();
  // `view` (from next_view(), before the next call) as a Record that owns its bytes;
  // Internal "out of memory copying the record ...", naming it, when the copy does
  // not fit.
  Result<std::optional<Record>> own(const std::optional<RecordView>& view) const;

  // The LSN of the record next() returns next.
  Lsn position() const;

  // Why the last next() returned nullopt when it stopped on bytes that are not a valid
  // record (a torn tail, as far as the cursor can tell); nullopt at a clean end or an
  // incomplete record. A caller that knows the record must exist reports this.
  const std::optional<Error>& stalled_on() const { return stalled_on_; }
  // Whether the last next() returned nullopt before an atomic batch that is not whole
  // yet: its last record is not readable (a write in progress, as far as the cursor
  // can tell: stalled_on() then says why), or not below the visible end given.
  bool batch_waiting() const { return batch_waiting_; }

  uint64_t segment_id() const { return segment_id_; }
  uint64_t offset() const { return reader_->offset(); }
  // Where the record next() returned last is (lsn 0 before the first).
  const RecordPosition& last_position() const { return last_position_; }

 private:
  SegmentCursor(const WalConfig& config, LogView view, io::Disk& disk,
                uint64_t segment_id, bool segment_listed,
                std::optional<uint64_t> expected, uint64_t from);

  // One step: the next record on disk (any LSN, contiguity checked), or nullopt; with
  // damage_ kept, that damage instead of nullopt or of entering its segment.
  Result<std::optional<RecordView>> advance();
  Result<std::optional<RecordView>> read_record();
  // At `first`, a record that more of its atomic batch follow, just read: reads ahead
  // to the batch's last record. True when the batch is whole (and below limit_): the
  // reader is back at `first`, with the whole batch in its buffer. Else false (the
  // reader back before `first`, batch_waiting_ or stalled_on_ set) or an error.
  Result<bool> read_batch(const Decoded& first);
  // read_batch() from the record after the first (at `offset`, `first_lsn`): the
  // batch's last LSN; nullopt when it is not whole (stalled_on_ and batch_waiting_
  // set as the judgement says) or an error.
  Result<std::optional<uint64_t>> read_to_batch_end(uint64_t offset, Lsn first_lsn);
  // An invalid or incomplete record at the reader's offset; `next_exists`: a later
  // segment exists, so the current one is complete.
  Result<std::optional<RecordView>> on_bad_record(const Decoded& bad, bool next_exists);
  // Whether the valid record `d` continues the log: true; an error; or false with
  // stalled_on_ set (records after a hole beyond the recovery point end the log).
  Result<bool> check_lsn(const Decoded& d);
  void enter_segment(uint64_t id, bool previous_released);
  Result<bool> segment_exists(uint64_t id);
  // Skips records below from_, keeping the first one at or above it in lookahead_.
  // Returns false when the records on disk end before from_.
  Result<bool> seek();
  Error released_error() const;
  // Before a record read from bytes that a read brought since the last check is
  // returned (`always`: also without such a read, before a vanished segment is taken
  // for a release or an LSN out of order for damage): the log's truncation epoch is
  // still the one the cursor opened with (truncation.h).
  Status check_not_truncated(bool always = false);

  const WalConfig config_;
  // The recovery point as it was when the cursor was opened: at or below it every
  // problem is corruption; beyond it a bad record may be a write in progress.
  const LogView view_;
  io::Disk& disk_;
  uint64_t segment_id_;
  // The current segment was seen in a listing (or opened): a NotFound for it means it
  // was released. False only for the first segment of a log that had none yet.
  bool segment_listed_;
  // The previous segment vanished before its end was confirmed: the first record of
  // this one must prove, by its LSN, that nothing was missed.
  bool previous_released_ = false;
  std::unique_ptr<SegmentReader> reader_;
  // LSN of the next record; unknown only in a log that had no record when a cursor
  // without a writer was opened.
  std::optional<uint64_t> expected_;
  uint64_t from_;  // records below this are skipped
  // Found by seek(), returned by the next next_view(); views reader_'s buffer, which
  // nothing reads into before that call.
  std::optional<RecordView> lookahead_;
  // Records of the atomic batch being returned still to come, and its last LSN.
  uint64_t batch_left_ = 0;
  uint64_t batch_last_ = 0;
  std::optional<Lsn> limit_;  // next_view()'s visible_end
  bool batch_waiting_ = false;
  std::optional<Error> stalled_on_;
  RecordPosition last_position_;
  // The truncation epoch the cursor opened with, and the reads of the current segment
  // (SegmentReader::reads) checked against it.
  uint32_t epoch_ = 0;
  uint64_t checked_reads_ = 0;
  // read_up_to_damage: the damage open() met, where the log as read ends. The records
  // before it come out; reading at or past it returns it.
  std::optional<Damage> damage_;
};

}  // namespace kaya::wal
