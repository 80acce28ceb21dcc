/// @file
/// The Disk: the only way kaya touches storage.
///
/// Every path is a RelativePath under the disk's root. All operations are thread-safe;
/// appends through one instance are atomic with respect to each other and ordered.
/// Durability is explicit: data written to a file survives a power loss only after
/// fsync_file() of that file, and a new file's (or renamed file's) directory entry only
/// after fsync_dir() of its parent directory.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kaya/core/export.h"
#include "kaya/core/status.h"

/// Storage: the Disk interface and its implementations.
namespace kaya::io {

/// Bytes to write: a non-owning view.
using ByteView = std::span<const uint8_t>;

/// Facts about what a Disk can store (Disk::limits()).
struct DiskLimits {
  /// The largest file the disk holds, in bytes (UINT64_MAX: no limit of its own).
  uint64_t max_file_bytes = UINT64_MAX;
  /// What sets max_file_bytes, for messages (e.g. "the RADOS object size limit
  /// (osd_max_object_size) of rados://pool/ns"); empty without a limit.
  std::string max_file_bytes_source;
};

/// A normalised path relative to a Disk's root: components joined by '/', never
/// absolute, never containing "..". `\` is read as `/`; "." and empty components are
/// dropped. The root itself is the empty path.
class KAYA_API RelativePath {
 public:
  /// The root.
  RelativePath() = default;
  /// InvalidArgument for absolute paths ("/x"), drive prefixes ("C:x"), ".." and NUL.
  static Result<RelativePath> parse(std::string_view text);

  /// The path: "a/b" (empty for the root).
  const std::string& str() const { return path_; }
  /// True for the root (the empty path).
  bool is_root() const { return path_.empty(); }
  /// "a/b" -> "a"; "a" -> root; root -> root.
  RelativePath parent() const;
  /// Last component ("" for the root).
  std::string_view filename() const;
  /// this/child. `child` is parsed like parse() and may hold several components.
  Result<RelativePath> join(std::string_view child) const;

  /// Ordered by str().
  auto operator<=>(const RelativePath&) const = default;

 private:
  explicit RelativePath(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

/// A window of a file mapped for writing (see Disk::map_for_write). Destroying it unmaps
/// the window; what was published stays in the file. Not thread-safe.
class KAYA_API WritableMap {
 public:
  virtual ~WritableMap() = default;
  WritableMap(const WritableMap&) = delete;
  WritableMap& operator=(const WritableMap&) = delete;

  /// File offset of data()[0].
  uint64_t offset() const { return offset_; }
  /// The mapped bytes: file offsets [offset(), offset() + data().size()). Bytes never
  /// published read as what the file held (zeros in space map_for_write added).
  std::span<uint8_t> data() const { return data_; }
  /// Declares the stores into data()[begin, end) complete: from now on read_at() sees
  /// them and they survive a crash of this process (a power loss only after
  /// fsync_file()). Stores must be published in file order. FileDisk: the mapping is
  /// the page cache, so there is nothing to do; other disks copy here and may fail
  /// like a write.
  virtual Status publish(uint64_t begin, uint64_t end) = 0;
  /// A hint before stores into data()[begin, end): make those pages writable now, in
  /// one call, instead of one page fault per page on the first store. FileDisk does
  /// this with MADV_POPULATE_WRITE, which dirties the pages: bytes never stored there
  /// are written back (as the zeros they hold) by the next fsync_file(). Never fails;
  /// without support it does nothing (the default).
  virtual void prefault(uint64_t begin, uint64_t end) {
    (void)begin;
    (void)end;
  }

 protected:
  /// For implementations: the window starts at file offset `offset`.
  WritableMap(uint64_t offset, std::span<uint8_t> data) : offset_(offset), data_(data) {}
  /// For implementations that allocate their buffer after construction.
  void set_data(std::span<uint8_t> data) { data_ = data; }

 private:
  uint64_t offset_;
  std::span<uint8_t> data_;
};

/// A held exclusive lock; destroying it releases the lock.
class KAYA_API FileLock {
 public:
  /// Releases the lock.
  virtual ~FileLock() = default;
};

/// Storage for one log (see the file comment). Implementations: FileDisk (POSIX files),
/// SimDisk (in memory, simulated crashes and faults), FaultDisk (errors injected into
/// another Disk). An engine may implement its own.
class KAYA_API Disk {
 public:
  /// Destroys the disk; no file is removed.
  virtual ~Disk() = default;

  /// Writes `parts` back to back at the end of `path` in one operation, creating the
  /// file when absent; returns the offset of the first byte. On error a prefix of the
  /// bytes may have reached the file.
  virtual Result<uint64_t> append(const RelativePath& path,
                                  std::span<const ByteView> parts) = 0;
  /// append() of one part.
  Result<uint64_t> append(const RelativePath& path, ByteView bytes) {
    return append(path, std::span<const ByteView>(&bytes, 1));
  }

  /// Reads up to out.size() bytes at `offset` and returns how many were read. Like
  /// pread, it may return fewer than asked before the end of the file; it returns 0
  /// only at or past the end. Callers loop (see read_full()).
  virtual Result<size_t> read_at(const RelativePath& path, uint64_t offset,
                                 std::span<uint8_t> out) = 0;

  /// Overwrites bytes of an existing file at `offset` (may extend it).
  virtual Status write_at(const RelativePath& path, uint64_t offset, ByteView bytes) = 0;

  /// NotFound when the file does not exist.
  virtual Result<uint64_t> file_len(const RelativePath& path) = 0;
  /// Cuts (or extends with zeros) the file to `len` bytes.
  virtual Status truncate(const RelativePath& path, uint64_t len) = 0;

  /// Whether map_for_write() is available.
  virtual bool can_map() const { return false; }
  /// Whether every write is on stable storage once it returns, so that fsync_file adds
  /// nothing (RadosDisk: Ceph acknowledges a write once every replica has it). A writer
  /// then paces what it writes only to stay current after a crash.
  virtual bool writes_are_durable() const { return false; }
  /// Makes `path` (which must exist) at least `offset + len` bytes long, with the space
  /// allocated so that stores into it cannot fail for lack of room (DiskFull here
  /// instead), and maps [offset, offset + len) for writing. Bytes added read as zeros.
  /// Internal error when can_map() is false; Internal "out of memory ..." when memory or
  /// address space for the map cannot be had (the file may have been extended).
  virtual Result<std::unique_ptr<WritableMap>> map_for_write(const RelativePath& path,
                                                             uint64_t offset,
                                                             uint64_t len);

  /// What this disk can store (limits()'s facts), for the layers above to check their
  /// configuration against. Default: no limit of its own.
  virtual DiskLimits limits() const { return {}; }

  /// Makes the file's data durable (fdatasync).
  virtual Status fsync_file(const RelativePath& path) = 0;
  /// Makes the directory's entries (files created, renamed, removed in it) durable.
  virtual Status fsync_dir(const RelativePath& dir) = 0;

  /// Names of the entries of `dir`, sorted. NotFound when it does not exist.
  virtual Result<std::vector<std::string>> list_dir(const RelativePath& dir) = 0;
  /// Creates `dir` (its parent must exist); succeeds when it exists already.
  virtual Status create_dir(const RelativePath& dir) = 0;
  /// Atomically renames `from` to `to`, replacing `to`.
  virtual Status rename(const RelativePath& from, const RelativePath& to) = 0;
  /// Removes a file (durable once fsync_dir() of its directory returned).
  virtual Status remove_file(const RelativePath& path) = 0;

  /// Takes an exclusive lock on `path` (creating the file). LockConflict when another
  /// holder has it, in this process or another. A process that dies releases it.
  /// Removing or replacing the file while the lock is held never lets two holders
  /// modify the disk.
  /// What each Disk locks:
  /// - FileDisk: flock on the file, opened without following a symbolic link (a link
  ///   there is an error), and on its directory, both through descriptors held until
  ///   release: the directory's lock outlives the file's name. Two lock files in one
  ///   directory therefore conflict.
  /// - SimDisk: the path, in a table of the disk's, independent of the file; crash()
  ///   releases every lock.
  /// - RadosDisk: an exclusive RADOS lock with a duration, renewed, on the object.
  ///   Removing the object drops that lock and another writer may take it, but the
  ///   first is fenced: its renewal and its next modification (each asserts its lock
  ///   on the object it modifies, which the new holder breaks) fail with LockConflict.
  virtual Result<std::unique_ptr<FileLock>> lock_file(const RelativePath& path) = 0;
  /// Whether a holder has the lock on `path` (lock_file()) right now, found without
  /// taking it (so a writer opening meanwhile never conflicts with the question): a
  /// snapshot that may change at once. false when nothing holds it (for FileDisk:
  /// neither the file, if it exists, nor its directory is locked). The default
  /// answers InvalidArgument (this Disk cannot tell).
  virtual Result<bool> lock_held(const RelativePath& path);

  /// Whether the file at `path` (which this disk wrote or read before) is still linked
  /// into the file system: false once it, or a directory above it, was removed (e.g.
  /// `rm -r wal/` under a running writer: writes through an open descriptor then land
  /// in a file no one can find again). A writer asks once per sync round, so it must be
  /// cheap. The default asks file_len() (NotFound: false); FileDisk checks the link count
  /// of the descriptor it keeps open for the file (one statx, no path lookup), or of the
  /// path when it keeps none.
  virtual Result<bool> still_linked(const RelativePath& path);

  /// How `path` should be named in messages (e.g. the full file-system path).
  virtual std::string describe(const RelativePath& path) const = 0;
};

/// Reads until `out` is full or the file ends; returns the number of bytes read.
KAYA_API Result<size_t> read_full(Disk& disk, const RelativePath& path, uint64_t offset,
                                  std::span<uint8_t> out);

}  // namespace kaya::io
