/// @file
/// SimDisk: an in-memory, deterministic Disk that simulates crashes and faults.
///
/// Model. Each file has its current bytes (what reads see, like the page cache) and its
/// durable bytes (what fsync_file() last captured). Each directory has its current
/// entries and its durable entries (what fsync_dir() last captured); a directory's own
/// entry lives in its parent. crash() throws away everything not durable: files whose
/// entry was never made durable vanish, and each surviving file is reset to its durable
/// bytes, plus (seeded, when tearing is on) a random prefix of what was written after
/// them, in file order from the first byte that differs, so the last writes can be torn
/// at any byte. Locks are released by a crash.
///
/// map_for_write() hands out a buffer whose publish() writes into the file like
/// write_at() (same faults); a store not yet published is lost in any crash. The disk
/// must outlive its maps.
///
/// Faults come from a seeded schedule: per-kind probabilities, and/or "fail the n-th
/// next operation of this kind". Every injected fault is counted (running out of
/// capacity_bytes is a state of the disk, not an injected fault, and is not counted).
/// For append / write_at the write kinds are consulted in the order kWriteError,
/// kDiskFull, kShortWrite; the first that fires wins and the later ones are not
/// consulted for that call.
///
/// Unlike a real file system, rename() moves files only (InvalidArgument for a
/// directory), so every directory has exactly one entry.
///
/// Thread-safe; every operation is serialised by one mutex, so results depend only on
/// the seed and the order of calls.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>

#include "kaya/core/export.h"
#include "kaya/io/disk.h"

namespace kaya::io {

/// The faults SimDisk and FaultDisk inject.
enum class FaultKind {
  kFsyncFailure,  ///< fsync_file / fsync_dir fail with FsyncFailed; nothing becomes
                  ///< durable
  kReadError,     ///< read_at fails with Io
  kWriteError,    ///< append / write_at fail with Io before writing anything
  kDiskFull,      ///< append / write_at fail with DiskFull before writing anything
  kShortWrite,    ///< append / write_at write a random strict prefix, then fail with Io
};
/// Number of FaultKind values.
inline constexpr int kFaultKindCount = 5;
/// "FsyncFailure", "ReadError", "WriteError", "DiskFull" or "ShortWrite".
KAYA_API std::string_view to_string(FaultKind kind);

/// How a SimDisk behaves.
struct SimDiskOptions {
  /// Seed of every random choice (torn writes, short reads, faults).
  uint64_t seed = 0;
  /// On crash(), keep a random prefix of each file's non-durable writes.
  bool tear_on_crash = true;
  /// read_at returns a random shorter count now and then (callers must loop).
  bool short_reads = false;
  /// Total bytes the disk holds across files (0: unlimited); beyond it appends fail
  /// with DiskFull, writing nothing.
  uint64_t capacity_bytes = 0;
  /// Probability per operation of each fault kind (index: FaultKind).
  std::array<double, kFaultKindCount> fault_probability{};
};

/// An in-memory Disk with simulated power loss and seeded faults (see the file
/// comment).
class KAYA_API SimDisk final : public Disk {
 public:
  /// An empty disk.
  explicit SimDisk(SimDiskOptions options = {});
  /// Discards every file.
  ~SimDisk() override;

  /// Each operation that can suffer `kind` fails with it with this probability.
  void set_fault_probability(FaultKind kind, double probability);
  /// The n-th next operation that can suffer `kind` fails with it (n = 1: the next one;
  /// 0 cancels). Replaces an earlier schedule for the same kind.
  void fail_nth(FaultKind kind, uint64_t n = 1);
  /// Cancels every scheduled fault and probability (the counters are kept).
  void clear_faults();
  /// Faults of `kind` injected so far.
  uint64_t faults_injected(FaultKind kind) const;

  /// Simulates a power loss (and so a process crash): see the model above.
  void crash();

  /// Called (outside the disk's mutex) at the start of every fsync_file, before the
  /// data is captured; tests use it to hold an fsync in progress.
  void set_fsync_hook(std::function<void(const RelativePath&)> hook);

  /// fsync_file calls, including those failed by an injected fault (they reached the
  /// disk), not calls on a missing path. For tests.
  uint64_t fsync_file_count() const;
  /// fsync_dir calls, counted like fsync_file_count().
  uint64_t fsync_dir_count() const;
  /// Durable length of a file, or NotFound when the file or its entry is not durable.
  Result<uint64_t> durable_len(const RelativePath& path) const;
  /// Bytes of all files (their current contents).
  uint64_t total_bytes() const;

  using Disk::append;
  Result<uint64_t> append(const RelativePath& path,
                          std::span<const ByteView> parts) override;
  Result<size_t> read_at(const RelativePath& path, uint64_t offset,
                         std::span<uint8_t> out) override;
  Status write_at(const RelativePath& path, uint64_t offset, ByteView bytes) override;
  Result<uint64_t> file_len(const RelativePath& path) override;
  Status truncate(const RelativePath& path, uint64_t len) override;
  bool can_map() const override { return true; }
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
  std::string describe(const RelativePath& path) const override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kaya::io
