// The writer's segment files: the tail segment the records go to, its map window and
// preallocation (mapped mode), the writes, fsyncs and link checks, sealing a full
// segment and starting the next one, and cutting the unused space off at close.
// Internal; the writer (sequencer.h) drives it.
//
// Lock contract. SegmentWriter has no lock of its own. Its position (the tail
// segment's id, its size once every record assigned to it is written, the map window,
// the window prepared ahead) is guarded by the writer's mutex, Sequencer::mu_: every
// member named *_locked REQUIRES that mutex and returns with it still held, never
// releasing it. The I/O members write(), fsync(), check_linked() and prepare() take
// what they work on as arguments and touch no member state, so they need no lock: the
// sequencer calls them with the mutex released on the append path (a write, an fsync
// or the preparation of a window never stalls the appends), and with it held only at
// rotation and close, once per segment. open() runs before any other thread sees the
// writer.
//
// Preparation ahead (mapped mode): once the records reach the second half of the map
// window, the next window (allocated, mapped and, for a stream of relaxed stores,
// prefaulted) is made by another thread with the mutex released (want_ahead_locked(),
// take_ahead_locked(), prepare(), adopt_locked()); the append that crosses into it
// only swaps maps. While a preparation runs the tail is neither sealed nor cut
// (ahead_running_locked()): a late allocation must never extend a sealed segment.
//
// Invariants (asserted): records are assigned at the end of the tail, which grows past
// segment_max_bytes only when it holds one record alone; a store lies inside the map
// window; a prepared window lies in the tail, from the records' end.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "kaya/core/config.h"
#include "kaya/core/status.h"
#include "kaya/io/disk.h"
#include "kaya/wal/recovery.h"

namespace kaya::wal {

class SegmentWriter {
 public:
  SegmentWriter(const WalConfig& config, io::Disk& disk);
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // The tail of the log `report` recovered: its last segment, trimmed to its records
  // (space a crashed writer preallocated goes; what a crashed process left with the OS
  // is synced), or a new log's first segment.
  Status open(const RecoveryReport& report);

  // Records go through a map of the segment (WalConfig::preallocate_bytes on a Disk
  // that can map). Fixed at construction: no lock needed.
  bool mapped() const { return mapped_; }

  uint64_t id_locked() const { return id_; }
  // The tail's size once every record assigned to it is written.
  uint64_t bytes_locked() const { return bytes_; }
  // Whether a record of `len` bytes needs a new segment: the tail holds records and
  // would grow past segment_max_bytes.
  bool full_for_locked(uint64_t len) const {
    return bytes_ > 0 && bytes_ + len > config_.segment_max_bytes;
  }
  // Mapped mode: makes sure the map covers [offset, offset + len) of the tail (a new
  // window of preallocate_bytes there when not; short of memory or disk space for it,
  // a map of the record alone). Out of memory or address space is Internal "out of
  // memory mapping ...".
  Status map_locked(uint64_t offset, uint64_t len) {
    if (covers(map_, offset, len)) return ok_status();
    if (covers(ahead_, offset, len)) return switch_to_ahead_locked();
    return remap_locked(offset, len);
  }

  // Preparation ahead (see the file comment). A window to prepare: `bytes` of segment
  // `segment` from `offset`, prefaulted whole with `populate`.
  struct Ahead {
    uint64_t segment = 0;
    uint64_t offset = 0;
    uint64_t bytes = 0;
    bool populate = false;
  };
  // Whether the next window should be prepared now (asked after each record assigned
  // in mapped mode; true once per window): no window is prepared or being prepared,
  // and the segment has room past the map. `populate`: the record was stored through
  // the map (a relaxed stream).
  bool want_ahead_locked(bool populate);
  // The preparer takes the request (false when there is none any more, e.g. the tail
  // rotated) and, to destroy with the mutex released, the map the appends left.
  bool take_ahead_locked(Ahead* ahead, std::unique_ptr<io::WritableMap>* retired);
  // The I/O of a preparation: Disk::map_for_write of the window (which allocates it),
  // then the prefault. No lock.
  Result<std::unique_ptr<io::WritableMap>> prepare(const Ahead& ahead);
  // Keeps the prepared window if it still lies ahead of the records (unless `drop`:
  // the writer is poisoned); returns what is not kept (to destroy with the mutex
  // released). A failed preparation is counted and dropped: the append that reaches
  // the window allocates it itself (remap_locked), and fails there if it still cannot.
  std::unique_ptr<io::WritableMap> adopt_locked(
      const Ahead& ahead, Result<std::unique_ptr<io::WritableMap>> prepared, bool drop);
  bool ahead_running_locked() const { return ahead_state_ == AheadState::kRunning; }
  // Whether a running preparation makes the window that [offset, offset + len) of the
  // tail needs (the append waits for it rather than make it a second time).
  bool ahead_will_cover_locked(uint64_t offset, uint64_t len) const;
  // Whether the map or the window prepared covers [offset, offset + len).
  bool covered_locked(uint64_t offset, uint64_t len) const {
    return covers(map_, offset, len) || covers(ahead_, offset, len);
  }
  // Windows prepared ahead and adopted, and preparations that failed.
  uint64_t ahead_prepared_locked() const { return ahead_prepared_; }
  uint64_t ahead_failed_locked() const { return ahead_failed_; }
  // Takes `len` bytes at the end of the tail for a record; returns their offset.
  Result<uint64_t> reserve_locked(uint64_t len);
  // Mapped mode: copies the sealed record `bytes` into the map at `offset` and
  // publishes it. An error is the store's (the caller poisons).
  Status store_locked(std::span<const uint8_t> bytes, uint64_t offset);
  // Drops the maps (a poisoned writer stores nothing more).
  void drop_map_locked() {
    map_.reset();
    drop_ahead_locked();
  }
  // Rotation, with every record of the tail written: in mapped mode the map goes and
  // the segment is cut to its records (not synced: the caller's fsync follows).
  Status seal_locked();
  // InvalidArgument when the tail's id is the last one: the log cannot rotate.
  Status can_start_next_locked() const;
  // Rotation, once the sealed tail is durable: creates segment id + 1 (its directory
  // entry synced) and makes it the tail.
  Status start_next_locked();
  // Close, mapped mode: syncs the tail, cuts its unused space off and syncs again.
  // Counts the fsync_file calls it makes in *fsyncs.
  Status finish_locked(uint64_t* fsyncs);

  // One write of `bytes` at `offset` of segment `segment`.
  Status write(uint64_t segment, uint64_t offset, std::span<const uint8_t> bytes);
  // fsync_file of segment `segment`, timed into *us.
  Status fsync(uint64_t segment, uint64_t* us);
  // NotFound when segment `segment` was removed under the writer (Disk::still_linked).
  Status check_linked(uint64_t segment);

 private:
  enum class AheadState { kIdle, kWanted, kRunning };
  static bool covers(const std::unique_ptr<io::WritableMap>& map, uint64_t offset,
                     uint64_t len) {
    return map != nullptr && offset >= map->offset() &&
           offset + len <= map->offset() + map->data().size();
  }
  Status remap_locked(uint64_t offset, uint64_t len);
  Status switch_to_ahead_locked();
  // The bytes of a window at `offset`: preallocate_bytes, or less at the segment's end.
  uint64_t window_at(uint64_t offset, uint64_t len) const;
  // Forgets the prepared window and the retired map (seal, close, poison).
  void drop_ahead_locked();

  const WalConfig& config_;
  io::Disk& disk_;
  const bool mapped_;
  // Under the writer's mutex:
  uint64_t id_ = 0;
  uint64_t bytes_ = 0;
  std::unique_ptr<io::WritableMap> map_;
  uint64_t prefaulted_end_ = 0;               // file offset: map_ prefaulted up to here
  Ahead ahead_request_;                       // when kWanted or kRunning
  std::unique_ptr<io::WritableMap> ahead_;    // the next window, prepared
  bool ahead_populated_ = false;              // ahead_ was prefaulted whole
  std::unique_ptr<io::WritableMap> retired_;  // left by the appends, for the preparer
  AheadState ahead_state_ = AheadState::kIdle;
  uint64_t ahead_prepared_ = 0;
  uint64_t ahead_failed_ = 0;
};

}  // namespace kaya::wal
