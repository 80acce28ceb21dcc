#include "wal/log_dir.h"

#include <cassert>
#include <new>
#include <string>

#include "kaya/wal/format.h"
#include "wal/segment_reader.h"

namespace kaya::wal::log_dir {
namespace {

constexpr std::string_view kLostDir = "wal/lost";

io::RelativePath known_path(std::string_view text) {
  Result<io::RelativePath> path = io::RelativePath::parse(text);
  if (!path.ok()) {
    assert(path.error().kind() == ErrorKind::kInternal);  // "out of memory"
    throw std::bad_alloc();
  }
  return std::move(path).value();
}

}  // namespace

io::RelativePath dir() { return known_path(format::kSegmentDir); }

io::RelativePath segment(uint64_t id) { return known_path(format::segment_path(id)); }

io::RelativePath lock_file() { return known_path(format::kLockFile); }

io::RelativePath recovery_point() { return known_path(rp_format::kFile); }

io::RelativePath recovery_point_temp() { return known_path(rp_format::kTempFile); }

io::RelativePath lost_dir() { return known_path(kLostDir); }

Result<std::vector<uint64_t>> list_segments(io::Disk& disk) {
  auto names = disk.list_dir(dir());
  if (!names.ok()) {
    if (names.error().kind() == ErrorKind::kNotFound) return std::vector<uint64_t>();
    return std::move(names).error();
  }
  std::vector<uint64_t> ids;
  for (const std::string& name : *names) {
    if (auto id = format::parse_segment_file_name(name)) ids.push_back(*id);
  }
  return ids;
}

bool hole_before(std::span<const uint64_t> ids, size_t i) {
  return i > 0 && i < ids.size() && ids[i] != ids[i - 1] + 1;
}

Result<std::optional<Lsn>> first_lsn(io::Disk& disk, uint64_t id,
                                     uint64_t max_record_bytes) {
  SegmentReader reader(disk, segment(id), max_record_bytes, 0, format::kHeaderLen);
  KAYA_ASSIGN_OR_RETURN(std::optional<Decoded> d, reader.next());
  if (!d || !d->ok()) return std::optional<Lsn>();
  return std::optional<Lsn>(d->record.lsn);
}

Result<std::unique_ptr<io::FileLock>> lock(io::Disk& disk) {
  Result<std::unique_ptr<io::FileLock>> held = disk.lock_file(lock_file());
  if (!held.ok() && held.error().kind() == ErrorKind::kLockConflict) {
    return held.error().with_context(
        "another writer holds the log (one process writes a log at a time)");
  }
  return held;
}

Result<bool> locked(io::Disk& disk) { return disk.lock_held(lock_file()); }

Status ensure_dir(io::Disk& disk) { return disk.create_dir(dir()); }

Status create(io::Disk& disk, uint64_t first_id) {
  KAYA_RETURN_IF_ERROR(disk.create_dir(dir()));
  KAYA_RETURN_IF_ERROR(disk.fsync_dir(io::RelativePath()));
  return create_segment(disk, first_id);
}

Status create_segment(io::Disk& disk, uint64_t id) {
  KAYA_RETURN_IF_ERROR(add_segment(disk, id));
  return sync_dir(disk);
}

Status add_segment(io::Disk& disk, uint64_t id) {
  return disk.append(segment(id), io::ByteView()).status();
}

Status remove_segment(io::Disk& disk, uint64_t id) {
  KAYA_RETURN_IF_ERROR(disk.remove_file(segment(id)));
  return sync_dir(disk);
}

Status cut_segment(io::Disk& disk, uint64_t id, uint64_t len) {
  const io::RelativePath path = segment(id);
  KAYA_RETURN_IF_ERROR(disk.truncate(path, len));
  return disk.fsync_file(path);
}

Status trim_tail(io::Disk& disk, uint64_t id, uint64_t data_end) {
  const io::RelativePath path = segment(id);
  KAYA_ASSIGN_OR_RETURN(uint64_t len, disk.file_len(path));
  if (len > data_end) KAYA_RETURN_IF_ERROR(disk.truncate(path, data_end));
  return sync_segment(disk, id);
}

Status sync_segment(io::Disk& disk, uint64_t id) {
  KAYA_RETURN_IF_ERROR(disk.fsync_file(segment(id)));
  return sync_dir(disk);
}

Status create_lost_dir(io::Disk& disk) {
  KAYA_RETURN_IF_ERROR(disk.create_dir(lost_dir()));
  return sync_dir(disk);
}

Result<io::RelativePath> lost_name(io::Disk& disk, uint64_t id, uint64_t offset) {
  std::string base = std::string(kLostDir) + "/" + std::string(segment(id).filename());
  if (offset > 0) base += ".from-" + std::to_string(offset);
  for (int n = 0;; ++n) {
    KAYA_ASSIGN_OR_RETURN(
        io::RelativePath p,
        io::RelativePath::parse(n == 0 ? base : base + "." + std::to_string(n)));
    auto len = disk.file_len(p);
    if (!len.ok() && len.error().kind() == ErrorKind::kNotFound) return p;
    if (!len.ok()) return std::move(len).error();
  }
}

Status set_aside(io::Disk& disk, uint64_t id, uint64_t offset,
                 const io::RelativePath& to) {
  const io::RelativePath from = segment(id);
  if (offset == 0) return disk.rename(from, to);
  // A tail: copied into the new file `to`, durably.
  std::vector<uint8_t> buf(1 << 20);
  KAYA_RETURN_IF_ERROR(disk.append(to, io::ByteView()).status());
  for (;;) {
    KAYA_ASSIGN_OR_RETURN(size_t n, io::read_full(disk, from, offset, buf));
    if (n == 0) break;
    KAYA_RETURN_IF_ERROR(disk.append(to, io::ByteView(buf.data(), n)).status());
    offset += n;
  }
  return disk.fsync_file(to);
}

Status sync_after_set_aside(io::Disk& disk) {
  KAYA_RETURN_IF_ERROR(disk.fsync_dir(lost_dir()));
  return sync_dir(disk);
}

Status sync_dir(io::Disk& disk) { return disk.fsync_dir(dir()); }

}  // namespace kaya::wal::log_dir
