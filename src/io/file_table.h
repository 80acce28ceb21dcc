// The descriptors a FileDisk keeps open: a bounded cache, least recently used first
// out, that never closes a descriptor holding writes no completed fdatasync covers.
//
// Why the pinning: a writeback error is reported to the descriptors open when it
// happened (errseq since Linux 4.13). Closing a descriptor with dirty pages and
// fsyncing a new one can miss the error, and the writer would acknowledge records the
// kernel failed to write (the "fsyncgate" problem). So a descriptor is *dirty* from
// the start of a write through it (append, write_at, truncate, a writable map) until
// an fdatasync that began after the write ended has succeeded on it, and only clean
// descriptors that no call is using are ever closed.
//
// The bound: at most `max_clean` cached descriptors are clean (fewer for a moment when
// the process runs out of descriptors: see shed()); dirty ones are kept in
// addition (a writer has few: its active segment and the recovery point), and a
// descriptor in use by a call (or a map) stays open until that call returns (or the
// map is destroyed), even when it left the cache meanwhile.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/mutex.h"
#include "kaya/core/status.h"

namespace kaya::io {

// What a call needs of a file's descriptor. Reads get the cached descriptor, whatever
// its mode, or open the file O_RDONLY; the others need an O_RDWR descriptor (a cached
// read-only one is replaced by a new read-write one).
enum class Access {
  kRead,    // pread, fstat
  kSync,    // fdatasync: read-write, but no write
  kWrite,   // pwrite, ftruncate, fallocate, a writable map: the file must exist
  kCreate,  // kWrite, creating the file when absent
};

// One open descriptor. Shared by the table and the calls using it, so that a
// descriptor leaving the table (eviction, remove_file, rename) is closed only after its
// last user is done.
class OpenFile {
 public:
  OpenFile(int fd, bool writable) : fd_(fd), writable_(writable) {}
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  int fd() const { return fd_; }
  bool writable() const { return writable_; }

  // Guards end_known and end_bytes and orders appends, truncate and allocation on
  // this descriptor. Never held across fdatasync, so a sync does not stall appends to
  // the same file, nor across write_at's pwrite, so writes at distinct offsets run in
  // parallel (the caller orders a write_at against an append or a truncate of the
  // same bytes).
  core::Mutex append_mu;
  bool end_known KAYA_GUARDED_BY(append_mu) = false;
  uint64_t end_bytes KAYA_GUARDED_BY(append_mu) = 0;

 private:
  friend class FileTable;

  const int fd_;
  const bool writable_;
  // Guarded by the table's mutex.
  uint32_t users_ = 0;          // FileRefs holding it
  uint64_t writes_done_ = 0;    // writes through it that have ended
  uint64_t writes_synced_ = 0;  // writes_done_ when the last good fdatasync began
};

class FileTable;

// EMFILE or ENFILE: the process (or the system) has no descriptor left.
inline bool out_of_descriptors(int err) { return err == EMFILE || err == ENFILE; }

// A descriptor in use, from FileTable::get(); releasing it ends the use (and, for a
// write, the write: the descriptor is dirty until a later sync). Movable.
class FileRef {
 public:
  FileRef(FileRef&& other) noexcept
      : table_(std::move(other.table_)),
        file_(std::move(other.file_)),
        write_(other.write_) {}
  FileRef& operator=(FileRef&&) = delete;
  FileRef(const FileRef&) = delete;
  ~FileRef();

  OpenFile& file() const { return *file_; }
  int fd() const { return file_->fd(); }

 private:
  friend class FileTable;

  FileRef(std::shared_ptr<FileTable> table, std::shared_ptr<OpenFile> file, bool write)
      : table_(std::move(table)), file_(std::move(file)), write_(write) {}
  std::shared_ptr<FileTable> table_;  // a map may outlive the disk
  std::shared_ptr<OpenFile> file_;
  bool write_;
};

// Thread-safe. Keys are the disk's relative paths; open() errors name `full_path`.
class FileTable : public std::enable_shared_from_this<FileTable> {
 public:
  explicit FileTable(size_t max_clean) : max_clean_(max_clean) {}

  // The descriptor of `key`, cached or opened now (see Access). `full_path` makes the
  // path to open (and to name in errors), called only when the cache misses: a cached
  // descriptor costs no string.
  Result<FileRef> get(const std::string& key,
                      const std::function<std::string()>& full_path, Access access);
  // The cached descriptor of `key`, in use until the reference is released, or none:
  // never opens one (for a question about the file as the disk holds it, e.g. its link
  // count, that must not grow or churn the cache).
  std::optional<FileRef> cached(const std::string& key);

  // Brackets an fdatasync through `ref` (an Access::kSync reference): begin_sync()
  // before it starts, synced() once it succeeded. A failed sync leaves the descriptor
  // dirty, so it stays open: the sync is never retried on a new descriptor.
  uint64_t begin_sync(const FileRef& ref);
  void synced(const FileRef& ref, uint64_t covered);

  // Closes every cached descriptor that is clean and unused: for when the process ran
  // out of descriptors (get() does it itself before it gives up on an open()).
  void shed();

  // `key` was removed: its descriptor leaves the table (closed once unused).
  void forget(const std::string& key);
  // `from` was renamed to `to`: from's descriptor, if it still denotes the file now at
  // `to_full_path`, moves to `to` (with its unsynced writes, if any); to's leaves.
  void renamed(const std::string& from, const std::string& to,
               const std::string& to_full_path);

 private:
  friend class FileRef;
  using Entry = std::pair<std::string, std::shared_ptr<OpenFile>>;
  using Lru = std::list<Entry>;  // most recently used first

  static bool dirty(const OpenFile& file) {
    return file.writes_done_ != file.writes_synced_;
  }
  void release(OpenFile& file, bool write);
  FileRef use_locked(std::shared_ptr<OpenFile> file, Access access) KAYA_REQUIRES(mu_);
  void touch_locked(Lru::iterator it) KAYA_REQUIRES(mu_) {
    lru_.splice(lru_.begin(), lru_, it);
  }
  void erase_locked(const std::string& key, std::vector<std::shared_ptr<OpenFile>>& out)
      KAYA_REQUIRES(mu_);
  // Moves the least recently used clean, unused descriptors to `out` (closed by the
  // caller, outside the lock) until at most `keep` are clean.
  void trim_locked(size_t keep, std::vector<std::shared_ptr<OpenFile>>& out)
      KAYA_REQUIRES(mu_);

  const size_t max_clean_;
  core::Mutex mu_;
  Lru lru_ KAYA_GUARDED_BY(mu_);
  std::unordered_map<std::string, Lru::iterator> index_ KAYA_GUARDED_BY(mu_);
  // Bumped when names are unlinked or renamed, so that an open() racing with that is
  // retried instead of caching a descriptor of a file that has left its path.
  uint64_t names_epoch_ KAYA_GUARDED_BY(mu_) = 0;
};

}  // namespace kaya::io
