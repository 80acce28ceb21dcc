/// @file
/// SimDisk: an in-memory, deterministic Disk that simulates crashes and faults.
///
/// Model. Each file has its current bytes (what reads see, like the page cache), its
/// durable bytes (what fsync_file() last captured) and the set of its sectors written
/// since then. Each directory has its current entries and its durable entries (what
/// fsync_dir() last captured); a directory's own entry lives in its parent. crash()
/// throws away everything not durable: files whose entry was never made durable
/// vanish (or, with SimDiskOptions::new_entries_may_survive, each such new file may
/// keep its entry, a seeded choice per file), and each surviving file keeps what the
/// persistence model (SimDiskOptions::persistence) leaves of it; that becomes its current
/// and durable bytes, with no sector written. Locks are released by a crash.
///
/// kPrefix (the default): a file keeps its durable bytes plus (seeded, when tearing is
/// on) a random prefix of what was written after them, in file order from the first
/// byte that differs, so the last writes can be torn at any byte.
///
/// kSectors, the project's storage fault model (a device that writes 512-byte sectors
/// atomically, in any order, and may persist a file's size before its data):
/// - Sector i of a file is its bytes [512 i, 512 i + 512). A sector is *written* when
///   an append, write_at, publish of a map, allocation by map_for_write or extending
///   truncate touched any of its bytes (including the zeros that fill a gap when a
///   write or truncate extends the file) since the file's last successful fsync_file.
///   fsync_file makes the current bytes durable and leaves no sector written; a
///   failed one changes nothing. A truncate that shrinks writes no sector.
/// - Old content of a sector: what it held at the last fsync_file (zeros beyond the
///   durable length). New content: what reads saw just before the crash (zeros beyond
///   the current length).
/// - After crash(), the file's length is its durable length or its current length,
///   a seeded choice (none when they are equal): the length may persist ahead of the
///   data, or a shrink may persist without the writes after it.
/// - Each written sector holds, whole, either its old or its new content, chosen
///   independently per sector by the seeded generator: nothing is torn within a
///   sector, but a later sector may persist while an earlier one is lost (a hole).
///   Every other sector holds its old content. The file is these sectors cut to the
///   chosen length; so where the length persisted beyond the durable length, sectors
///   whose new content did not persist read as zeros, and durable bytes that no
///   write touched since their fsync_file never change (unless a shrink cut them).
/// - Generator draws, in order per file: the length (when the lengths differ), then
///   one per written sector below the chosen length, in file order.
///
/// With tear_on_crash off both models keep exactly the durable bytes (a shrink that
/// was never synced is undone).
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
#include "kaya/io/fault_schedule.h"

namespace kaya::io {

/// What crash() keeps of the bytes written to a file since its last fsync_file (see
/// the file comment).
enum class CrashPersistence {
  kPrefix,   ///< a random prefix of them, in file order, torn at any byte
  kSectors,  ///< each written 512-byte sector whole, old or new; the length may run
             ///< ahead of the data
};
/// "Prefix" or "Sectors".
KAYA_API std::string_view to_string(CrashPersistence persistence);

/// The sector size of the kSectors model: the unit that a crash never tears.
inline constexpr uint64_t kSimDiskSectorBytes = 512;

/// How a SimDisk behaves.
struct SimDiskOptions {
  /// Seed of every random choice (torn writes, short reads, faults).
  uint64_t seed = 0;
  /// On crash(), keep a random part of each file's non-durable writes (which part:
  /// `persistence`); off, keep exactly the durable bytes.
  bool tear_on_crash = true;
  /// read_at returns a random shorter count now and then (callers must loop).
  bool short_reads = false;
  /// Total bytes the disk holds across files (0: unlimited); beyond it appends fail
  /// with DiskFull, writing nothing.
  uint64_t capacity_bytes = 0;
  /// Probability per operation of each fault kind (index: FaultKind).
  std::array<double, kFaultKindCount> fault_probability{};
  /// Which part of the non-durable writes a crash may keep. (Declared after the
  /// above: designated initialisers must follow declaration order.)
  CrashPersistence persistence = CrashPersistence::kPrefix;
  /// On crash(), a file created since its directory's last fsync_dir (an entry naming
  /// no file a durable entry of that directory names) keeps its entry with
  /// probability 1/2, each a seeded choice: a file system may write a new entry back
  /// before any fsync asks it to (ext4 commits its journal every few seconds), in any
  /// order. Off: such files always vanish. Removals and renames are undone either way.
  bool new_entries_may_survive = false;
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

  /// Simulates a power loss (and so a process crash): see the model above. A writer
  /// still open on this disk keeps running its threads, which a dead process could
  /// not: fail its writes and fsyncs first (set_fault_probability(kFsyncFailure and
  /// kWriteError, 1.0)), then crash, then destroy the writer, so that none of its I/O
  /// lands after the power loss.
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
  Result<bool> lock_held(const RelativePath& path) override;
  /// Whether `path` names a file now (a removed file, or one under a removed
  /// directory, does not).
  Result<bool> still_linked(const RelativePath& path) override;
  std::string describe(const RelativePath& path) const override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kaya::io
