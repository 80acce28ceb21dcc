/// @file
/// FileDisk: a Disk over POSIX files under a root directory.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "kaya/core/export.h"
#include "kaya/io/disk.h"

namespace kaya::io {

/// How a FileDisk is opened.
struct KAYA_API FileDiskOptions {
  /// Create the root directory (and its parents) when absent.
  bool create = true;
  /// How many descriptors of files without unsynced writes the disk keeps open (at
  /// least 1), and never more than a quarter of the soft RLIMIT_NOFILE when the disk
  /// is opened; see FileDisk for what else it keeps open.
  size_t max_open_files = 64;
};

/// Files under a root directory.
///
/// Descriptors: kept open between calls in a cache, least recently used out first, so
/// that a log of any number of segments needs a bounded number of them. When an open
/// fails for want of descriptors (EMFILE, ENFILE), the disk closes every cached
/// descriptor it may and tries once more. A descriptor
/// is closed only when every write through it (append, write_at, truncate, stores
/// through a map) is covered by an fsync_file() that succeeded on it: a writeback error
/// is reported to the descriptors open when it happened, and an fsync through a
/// reopened descriptor could miss it and let a failed write be acknowledged. So the
/// disk holds at most `max_open_files` descriptors of files without unsynced writes,
/// plus one per file written since its last successful fsync_file() (a writer has two:
/// its active segment and the recovery point; a file whose fsync failed stays open
/// until it is removed or the disk is destroyed), plus, while a call runs or a map
/// exists, the descriptor it uses. remove_file() and destruction close descriptors
/// whatever they hold; rename() keeps a descriptor under the new name.
///
/// Reads open files O_RDONLY: reading a log needs no write permission (immutable or
/// append-only segments read), and closing such a descriptor raises no IN_CLOSE_WRITE
/// event. Writes, truncation, maps and fsync_file() use an O_RDWR descriptor, opened
/// then if only a read-only one is cached. A name that is a dangling symbolic link is
/// an Io error naming the link and its target, never NotFound, and append() never
/// creates the target of such a link.
///
/// The lock (lock_file()): an exclusive flock on the lock file, opened without
/// following a symbolic link, and one on the directory holding it, both held through
/// descriptors kept open until the lock is released. Removing or replacing the lock
/// file therefore does not admit a second writer; the file's own flock keeps writers
/// of kaya 0.1, which lock only the file, excluded. Two lock files in one directory
/// conflict. Where the file system cannot lock a directory (NFS: EBADF), the file's
/// flock alone. lock_held() reads /proc/locks for either.
///
/// fsync_file() is fdatasync(); fsync_dir() fsyncs the directory itself. Loops on short
/// reads and writes and on EINTR. errno maps to error kinds: ENOENT -> NotFound,
/// ENOSPC/EDQUOT -> DiskFull, a failed fsync -> FsyncFailed, ENOMEM from mmap (out of
/// address space) -> Internal "out of memory mapping ...", as kaya reports memory
/// running out, others -> Io; every message names the full path and the errno text.
class KAYA_API FileDisk final : public Disk {
 public:
  /// Opens a disk rooted at `root`, creating that directory when `create` is set.
  static Result<std::unique_ptr<FileDisk>> open(const std::string& root,
                                                bool create = true);
  /// Opens a disk rooted at `root` with `options` (InvalidArgument when
  /// max_open_files is 0).
  static Result<std::unique_ptr<FileDisk>> open(const std::string& root,
                                                const FileDiskOptions& options);
  /// Closes every file it keeps open (a map keeps its own until it is destroyed); no
  /// file is removed.
  ~FileDisk() override;

  /// The root directory, as given to open().
  const std::string& root() const;
  /// The bound in effect: FileDiskOptions::max_open_files, lowered to a quarter of the
  /// soft RLIMIT_NOFILE at open() (at least 1).
  size_t max_open_files() const;

  using Disk::append;
  Result<uint64_t> append(const RelativePath& path,
                          std::span<const ByteView> parts) override;
  Result<size_t> read_at(const RelativePath& path, uint64_t offset,
                         std::span<uint8_t> out) override;
  Status write_at(const RelativePath& path, uint64_t offset, ByteView bytes) override;
  Result<uint64_t> file_len(const RelativePath& path) override;
  Status truncate(const RelativePath& path, uint64_t len) override;
  bool can_map() const override { return true; }
  // posix_fallocate (so stores into the window cannot hit ENOSPC, which a shared
  // mapping would report as SIGBUS) and mmap(MAP_SHARED); publish() does nothing.
  Result<std::unique_ptr<WritableMap>> map_for_write(const RelativePath& path,
                                                     uint64_t offset,
                                                     uint64_t len) override;
  Status fsync_file(const RelativePath& path) override;
  Status fsync_dir(const RelativePath& dir) override;
  Result<std::vector<std::string>> list_dir(const RelativePath& dir) override;
  Status create_dir(const RelativePath& dir) override;
  Status rename(const RelativePath& from, const RelativePath& to) override;
  Status remove_file(const RelativePath& path) override;
  Result<std::unique_ptr<FileLock>> lock_file(const RelativePath& path) override;
  Result<bool> lock_held(const RelativePath& path) override;
  /// statx (link count only) of the descriptor the cache holds for `path`, else of the
  /// path (no descriptor is opened): false when the link count is 0 (the file was
  /// unlinked, by itself or with its directory) or the path names no file.
  Result<bool> still_linked(const RelativePath& path) override;
  std::string describe(const RelativePath& path) const override;

 private:
  struct KAYA_LOCAL Impl;
  KAYA_LOCAL explicit FileDisk(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kaya::io
