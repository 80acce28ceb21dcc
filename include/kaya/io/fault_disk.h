/// @file
/// FaultDisk: a Disk that wraps another Disk and injects errors into its real I/O.
///
/// What it is for: end-to-end tests of the writer and recovery on real files. SimDisk
/// simulates a whole file system in memory; FaultDisk instead forwards every operation
/// to an inner Disk (typically a FileDisk in a temporary directory), except the ones a
/// test scheduled to fail. The bytes that do reach the inner disk are real, so a test
/// can reopen the directory with a plain FileDisk and check what recovery finds there.
///
/// Faults reuse io::FaultKind and follow "fail the n-th next operation of this kind"
/// (n = 1: the next one). An operation consumes a scheduled fault only when it can
/// suffer that kind:
/// - kFsyncFailure: fsync_file / fsync_dir return FsyncFailed without calling the
///   inner fsync (so nothing is made durable by that call).
/// - kReadError: read_at returns Io without reading.
/// - kWriteError: append / write_at return Io without writing.
/// - kDiskFull: append / write_at return DiskFull without writing.
/// - kShortWrite: append / write_at write a strict prefix of their bytes (the first
///   half, rounded down) through the inner disk, then return Io.
/// For append / write_at the write kinds are consulted in the order kWriteError,
/// kDiskFull, kShortWrite (as in SimDisk); the first that fires wins and the later
/// ones are not consulted for that call. Every injected fault is counted. Everything
/// else, including errors of the inner disk itself, is forwarded unchanged.
///
/// Ownership: the inner disk is borrowed and must outlive the FaultDisk.
/// Thread-safe: the schedule and counters are guarded by a mutex (not held across
/// inner calls); the inner disk must be thread-safe, as every Disk is.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "kaya/core/export.h"
#include "kaya/io/disk.h"
#include "kaya/io/fault_schedule.h"

namespace kaya::io {

/// A Disk that forwards to another and fails the operations a test schedules (see the
/// file comment).
class KAYA_API FaultDisk final : public Disk {
 public:
  /// Wraps `inner`, which must outlive this disk. No fault is scheduled.
  explicit FaultDisk(Disk& inner);
  /// Destroys the wrapper; the inner disk is untouched.
  ~FaultDisk() override;

  /// The disk operations are forwarded to.
  Disk& inner() const { return inner_; }

  /// The n-th next operation that can suffer `kind` fails with it (0 cancels).
  /// Replaces an earlier schedule for the same kind.
  void fail_nth(FaultKind kind, uint64_t n = 1);
  /// Cancels every scheduled fault (the counters are kept).
  void clear_faults();
  /// Operations on paths for which `spared` returns true never suffer a fault, nor
  /// consume a scheduled one (e.g. a test aiming at segment files spares the files
  /// beside them). Empty: no path is spared (the default).
  void spare_paths(std::function<bool(const RelativePath&)> spared);
  /// Faults of `kind` injected so far.
  uint64_t faults_injected(FaultKind kind) const;
  /// fsync_file calls forwarded to the inner disk (not the failed ones).
  uint64_t inner_fsync_file_count() const;
  /// fsync_dir calls forwarded to the inner disk (not the failed ones).
  uint64_t inner_fsync_dir_count() const;
  /// Bytes read_at returned from the inner disk so far.
  uint64_t bytes_read() const;

  using Disk::append;
  Result<uint64_t> append(const RelativePath& path,
                          std::span<const ByteView> parts) override;
  Result<size_t> read_at(const RelativePath& path, uint64_t offset,
                         std::span<uint8_t> out) override;
  Status write_at(const RelativePath& path, uint64_t offset, ByteView bytes) override;
  /// The inner disk's limits.
  DiskLimits limits() const override { return inner_.limits(); }
  // Maps through the inner disk. Creating a map consults the write faults (a short
  // write fails it whole); stores and publish() never fail, as with a real mapping.
  bool can_map() const override;
  bool writes_are_durable() const override;
  Result<std::unique_ptr<WritableMap>> map_for_write(const RelativePath& path,
                                                     uint64_t offset,
                                                     uint64_t len) override;
  Result<uint64_t> file_len(const RelativePath& path) override;
  Status truncate(const RelativePath& path, uint64_t len) override;
  Status fsync_file(const RelativePath& path) override;
  Status fsync_dir(const RelativePath& dir) override;
  Result<std::vector<std::string>> list_dir(const RelativePath& dir) override;
  Status create_dir(const RelativePath& dir) override;
  Status rename(const RelativePath& from, const RelativePath& to) override;
  Status remove_file(const RelativePath& path) override;
  Result<std::unique_ptr<FileLock>> lock_file(const RelativePath& path) override;
  Result<bool> lock_held(const RelativePath& path) override;
  Result<bool> still_linked(const RelativePath& path) override;
  std::string describe(const RelativePath& path) const override;

 private:
  /// Consumes one eligible operation of `kind`; true when the fault fires.
  KAYA_LOCAL bool fire(FaultKind kind, const RelativePath& path);
  /// The first write fault that fires, consulted in the documented order.
  KAYA_LOCAL std::optional<FaultKind> write_fault(const RelativePath& path);
  KAYA_LOCAL Error injected(ErrorKind kind, std::string_view op, const RelativePath& path,
                            std::string_view what) const;

  Disk& inner_;
  mutable std::mutex mu_;
  FaultSchedule faults_;
  std::function<bool(const RelativePath&)> spared_;
  uint64_t inner_fsync_file_count_ = 0;
  uint64_t inner_fsync_dir_count_ = 0;
  uint64_t bytes_read_ = 0;
};

}  // namespace kaya::io
