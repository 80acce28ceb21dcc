#include "wal/segment_writer.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "core/assert.h"
#include "core/guard.h"
#include "wal/log_dir.h"

namespace kaya::wal {
namespace {

// Relaxed stores into the map prefault this much ahead at a time (WritableMap::prefault).
constexpr uint64_t kPrefaultBytes = 64 << 10;

}  // namespace

SegmentWriter::SegmentWriter(const WalConfig& config, io::Disk& disk)
    : config_(config),
      disk_(disk),
      mapped_(config.preallocate_bytes > 0 && disk.can_map()) {}

Status SegmentWriter::open(const RecoveryReport& report) {
  const std::vector<uint64_t> ids = report.segment_ids();
  if (ids.empty()) {
    id_ = format::kFirstSegmentId;
    bytes_ = 0;
    return log_dir::create(disk_, id_);
  }
  // Appends continue right after the last record: space a crashed writer had
  // preallocated past it goes, and records a crashed process left with the OS become
  // durable before any new one is acknowledged, so a later power loss cannot open a
  // hole before them.
  id_ = ids.back();
  bytes_ = report.segments.back().valid_bytes;
  // So do the segments before it that a crashed writer sealed but had not closed yet
  // (a close runs off the append path: docs/durability.md, "Rotation"). They lie beyond
  // the recovery point's sealed segment, so recovery read them: the few segments after
  // it in the default mode (every segment when it read the whole log).
  for (size_t i = 0; i + 1 < report.segments.size(); ++i) {
    if (!report.segments[i].scanned) continue;
    const uint64_t id = report.segments[i].id;
    KAYA_RETURN_IF_ERROR(
        core::guard([&] { return disk_.fsync_file(log_dir::segment(id)); }));
  }
  return log_dir::trim_tail(disk_, id_, bytes_);
}

Result<uint64_t> SegmentWriter::reserve_locked(uint64_t len) {
  // The rotation rule: a record goes to a new segment unless it is the first of it.
  KAYA_ASSERT(bytes_ == 0 || bytes_ + len <= config_.segment_max_bytes);
  const uint64_t offset = bytes_;
  bytes_ += len;
  return offset;
}

Status SegmentWriter::store_locked(std::span<const uint8_t> bytes, uint64_t offset) {
  const uint64_t len = bytes.size();
  // map_locked() covered the record before it took its LSN, and the Disk's map is as
  // long as asked (Disk::map_for_write): a store outside it would write memory that is
  // not the segment.
  KAYA_ASSERT(map_ != nullptr && offset >= map_->offset() &&
              offset + len <= map_->offset() + map_->data().size());
  if (offset + len > prefaulted_end_) {
    // Pages are made writable a chunk at a time, with one call: a page fault per page
    // under the lock cost more than the copies. Prefaulted pages no record reached yet
    // are written back as zeros by the next fsync: at most one chunk of them.
    const uint64_t map_end = map_->offset() + map_->data().size();
    const uint64_t from = std::max(prefaulted_end_, offset);
    const uint64_t to = std::min(map_end, std::max(offset + len, from + kPrefaultBytes));
    map_->prefault(from - map_->offset(), to - map_->offset());
    prefaulted_end_ = to;
  }
  const uint64_t at = offset - map_->offset();
  std::memcpy(map_->data().data() + at, bytes.data(), len);
  return core::guard([&] { return map_->publish(at, at + len); });
}

Status SegmentWriter::remap_locked(uint64_t offset, uint64_t len) {
  // A window of preallocate_bytes (or the record), not past the segment's limit.
  const uint64_t room = config_.segment_max_bytes > offset
                            ? config_.segment_max_bytes - offset
                            : uint64_t{0};
  const uint64_t window = std::max(len, std::min(config_.preallocate_bytes, room));
  map_.reset();
  const io::RelativePath path = log_dir::segment(id_);
  auto map = [&](uint64_t bytes) {
    return core::guard([&] { return disk_.map_for_write(path, offset, bytes); });
  };
  auto mapped = map(window);
  if (!mapped.ok() && window > len &&
      (mapped.error().kind() == ErrorKind::kDiskFull ||
       core::is_out_of_memory(mapped.error()))) {
    // Near a full disk, or short of memory or address space, room for this record
    // alone may still be there.
    mapped = map(len);
  }
  if (!mapped.ok() && mapped.error().message() == core::out_of_memory().message()) {
    return core::out_of_memory_while([&] {
      return "mapping [" + std::to_string(offset) + ", " + std::to_string(offset + len) +
             ") of " + disk_.describe(path) + " for a record of " + std::to_string(len) +
             " bytes";
    });
  }
  KAYA_ASSIGN_OR_RETURN(map_, std::move(mapped));
  prefaulted_end_ = offset;
  // The Disk maps what it was asked (Disk::map_for_write): the record fits.
  KAYA_ASSERT(map_->offset() == offset && map_->data().size() >= len);
  return ok_status();
}

Status SegmentWriter::seal_locked() {
  if (!mapped_) return ok_status();
  map_.reset();
  return core::guard([&] { return disk_.truncate(log_dir::segment(id_), bytes_); });
}

Status SegmentWriter::can_start_next_locked() const {
  if (id_ < UINT64_MAX) return ok_status();
  return Error(ErrorKind::kInvalidArgument,
               "segment id 18446744073709551615 is the last: the log cannot rotate");
}

Status SegmentWriter::start_next_locked() {
  KAYA_ASSERT(id_ < UINT64_MAX);  // can_start_next_locked() said so
  KAYA_RETURN_IF_ERROR(core::guard([&] { return log_dir::add_segment(disk_, id_ + 1); }));
  id_++;
  bytes_ = 0;
  return ok_status();
}

Status SegmentWriter::finish_locked(uint64_t* fsyncs) {
  return core::guard([&]() -> Status {
    // First a sync, which fails after a simulated crash, so that a dead writer changes
    // nothing; then the unused space goes and the cut is made durable.
    const io::RelativePath path = log_dir::segment(id_);
    ++*fsyncs;
    KAYA_RETURN_IF_ERROR(disk_.fsync_file(path));
    map_.reset();
    KAYA_RETURN_IF_ERROR(disk_.truncate(path, bytes_));
    ++*fsyncs;
    return disk_.fsync_file(path);
  });
}

Status SegmentWriter::write(uint64_t segment, uint64_t offset,
                            std::span<const uint8_t> bytes) {
  return core::guard([&]() -> Status {
    const io::RelativePath path = log_dir::segment(segment);
    // Mapped mode: the space is allocated (map_locked), the file that long.
    if (mapped_) return disk_.write_at(path, offset, bytes);
    KAYA_ASSIGN_OR_RETURN(uint64_t at, disk_.append(path, bytes));
    if (at != offset) {
      return Error(ErrorKind::kInvariantViolation,
                   disk_.describe(path) + ": records for offset " +
                       std::to_string(offset) + " landed at " + std::to_string(at) +
                       "; another process may be writing this log");
    }
    return ok_status();
  });
}

Status SegmentWriter::fsync(uint64_t segment, uint64_t* us) {
  const auto start = std::chrono::steady_clock::now();
  Status s = core::guard([&] { return disk_.fsync_file(log_dir::segment(segment)); });
  *us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count());
  return s;
}

Status SegmentWriter::check_linked(uint64_t segment) {
  // An fsync of a file that was unlinked (rm -r wal/ under the writer) succeeds, and so
  // do writes through its open descriptor: only this check keeps the writer from
  // acknowledging records that are in no file any more.
  return core::guard([&]() -> Status {
    const io::RelativePath path = log_dir::segment(segment);
    KAYA_ASSIGN_OR_RETURN(bool linked, disk_.still_linked(path));
    if (linked) return ok_status();
    return Error(ErrorKind::kNotFound,
                 disk_.describe(path) +
                     " was removed while the writer had it open (the segment or its "
                     "directory was deleted): records written to it are in no file; "
                     "restore the log from a copy, or reopen it to continue after what "
                     "is left");
  });
}

Status SegmentWriter::sync_dir() {
  return core::guard([&] { return log_dir::sync_dir(disk_); });
}

}  // namespace kaya::wal
