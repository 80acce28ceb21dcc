/// @file
/// FileDisk: a Disk over POSIX files under a root directory.
#pragma once

#include <memory>
#include <string>

#include "kaya/core/export.h"
#include "kaya/io/disk.h"

namespace kaya::io {

/// Keeps files open between calls (one descriptor per file, opened on first use and
/// closed on remove_file(), rename() or destruction). fsync_file() is fdatasync();
/// fsync_dir() fsyncs the directory itself. Loops on short reads and writes and on
/// EINTR. errno maps to error kinds: ENOENT -> NotFound, ENOSPC/EDQUOT -> DiskFull, a
/// failed fsync -> FsyncFailed, others -> Io; every message names the full path.
class KAYA_API FileDisk final : public Disk {
 public:
  /// Opens a disk rooted at `root`, creating that directory when `create` is set.
  static Result<std::unique_ptr<FileDisk>> open(const std::string& root,
                                                bool create = true);
  /// Closes every file it keeps open; no file is removed.
  ~FileDisk() override;

  /// The root directory, as given to open().
  const std::string& root() const;

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
  std::string describe(const RelativePath& path) const override;

 private:
  struct KAYA_LOCAL Impl;
  KAYA_LOCAL explicit FileDisk(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kaya::io
