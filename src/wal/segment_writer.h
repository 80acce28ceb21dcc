// The writer's segment files: the tail segment the records go to, its map window and
// preallocation (mapped mode), the writes, fsyncs and link checks, sealing a full
// segment and starting the next one, and cutting the unused space off at close.
// Internal; the writer (sequencer.h) drives it.
//
// Lock contract. SegmentWriter has no lock of its own. Its position (the tail
// segment's id, its size once every record assigned to it is written, the map window)
// is guarded by the writer's mutex, Sequencer::mu_: every member named *_locked
// REQUIRES that mutex and returns with it still held, never releasing it. The I/O
// members write(), fsync() and check_linked() take the segment's id and touch no
// member state, so they need no lock: the sequencer calls them with the mutex released
// on the append path (a write or an fsync never stalls the appends), and with it held
// only at rotation and close, once per segment. open() runs before any other thread
// sees the writer.
//
// Invariants (asserted): records are assigned at the end of the tail, which grows past
// segment_max_bytes only when it holds one record alone; a store lies inside the map
// window.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "kaya/core/status.h"
#include "kaya/io/disk.h"
#include "kaya/wal/config.h"
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
  // Whether a relaxed record of `len` bytes is best copied into the map (store_locked)
  // rather than written with a system call: in mapped mode, below kStoreBelowBytes.
  bool stores(uint64_t len) const { return mapped_ && len < kStoreBelowBytes; }
  // A store makes its pages writable ahead (zero-filled, then copied over) and a page
  // written through a map costs more at writeback; a pwrite of whole pages fills them
  // in one copy and costs a system call. Measured (kaya-wal bench --threads 1 --size S
  // --durability relaxed, 256 MiB, store vs pwrite): 512 B 2.1x, 1 KiB 1.4x, 2 KiB
  // 0.89x, 4 KiB 0.61x.
  static constexpr uint64_t kStoreBelowBytes = 2048;

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
    if (map_ != nullptr && offset >= map_->offset() &&
        offset + len <= map_->offset() + map_->data().size()) {
      return ok_status();
    }
    return remap_locked(offset, len);
  }
  // Takes `len` bytes at the end of the tail for a record; returns their offset.
  Result<uint64_t> reserve_locked(uint64_t len);
  // Mapped mode: copies the sealed record `bytes` into the map at `offset` and
  // publishes it. An error is the store's (the caller poisons).
  Status store_locked(std::span<const uint8_t> bytes, uint64_t offset);
  // Drops the map (a poisoned writer stores nothing more).
  void drop_map_locked() { map_.reset(); }
  // Rotation, with every record of the tail written: in mapped mode the map goes and
  // the segment is cut to its records (not synced: the caller's fsync follows).
  Status seal_locked();
  // InvalidArgument when the tail's id is the last one: the log cannot rotate.
  Status can_start_next_locked() const;
  // Rotation: creates segment id + 1 and makes it the tail. Its directory entry is not
  // synced: the sealed segment's close does that (sync_dir()), before any record of the
  // new one is made durable.
  Status start_next_locked();
  // Truncation, once the log was cut (the map dropped before: a store past the cut end
  // of a file would fault): appends continue in segment `id` at `bytes`.
  void truncated_locked(uint64_t id, uint64_t bytes) {
    map_.reset();
    id_ = id;
    bytes_ = bytes;
    prefaulted_end_ = 0;
  }
  // Close, mapped mode: syncs the tail, cuts its unused space off and syncs again.
  // Counts the fsync_file calls it makes in *fsyncs.
  Status finish_locked(uint64_t* fsyncs);

  // One write of `bytes` at `offset` of segment `segment`.
  Status write(uint64_t segment, uint64_t offset, std::span<const uint8_t> bytes);
  // fsync_file of segment `segment`, timed into *us.
  Status fsync(uint64_t segment, uint64_t* us);
  // NotFound when segment `segment` was removed under the writer (Disk::still_linked).
  Status check_linked(uint64_t segment);
  // fsync of wal/: the entries of the segments start_next_locked() created are durable.
  Status sync_dir();

 private:
  Status remap_locked(uint64_t offset, uint64_t len);

  const WalConfig& config_;
  io::Disk& disk_;
  const bool mapped_;
  // Under the writer's mutex:
  uint64_t id_ = 0;
  uint64_t bytes_ = 0;
  std::unique_ptr<io::WritableMap> map_;
  uint64_t prefaulted_end_ = 0;  // file offset: map_ prefaulted up to here
};

}  // namespace kaya::wal
