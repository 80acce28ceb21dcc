// KvStore: a tiny key-value store on the kaya WAL, written to show how an engine uses
// kaya. Not a library: the kaya-kv command (kaya_kv.cc) is its only user.
//
// The state is an in-memory std::map rebuilt on open from two sources:
// - DIR/CHECKPOINT, the whole map as of some LSN (written by checkpoint()), and
// - the log under DIR/wal/: every Put and Delete with an LSN above the checkpoint's.
// put() and del() append strictly, so a change is on stable storage before it is
// applied to the map and acknowledged: whatever was acknowledged is back after a crash
// or a power loss.
//
// One KvStore per directory at a time: open() takes DIR/LOCK (LockConflict when another
// process has the store open). Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kaya/core/status.h"
#include "kaya/core/types.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/writer.h"

namespace kaya::kv {

// Small segments, so that a demo with a few hundred puts spans several of them and a
// checkpoint visibly releases some (a real engine keeps kaya's 64 MiB default).
inline constexpr uint64_t kDefaultSegmentMaxBytes = 64 << 10;

struct KvOptions {
  // A change larger than this goes alone into a segment of its own.
  uint64_t segment_max_bytes = kDefaultSegmentMaxBytes;
};

// What checkpoint() wrote and released.
struct CheckpointReport {
  Lsn lsn{0};            // the checkpoint holds every change up to this LSN
  uint64_t entries = 0;  // keys in the checkpoint
  wal::ReleaseReport released;
};

class KvStore {
 public:
  using Map = std::map<std::string, std::string, std::less<>>;

  // Opens (creating) the store in `dir`: loads DIR/CHECKPOINT when present (Corruption
  // naming the file when its CRC32C or its layout is wrong), then recovers the log and
  // replays the records the checkpoint does not cover.
  static Result<std::unique_ptr<KvStore>> open(const std::string& dir,
                                               const KvOptions& options = {});
  ~KvStore();

  // Durable when they return; the LSN of the record that holds the change.
  Result<Lsn> put(std::string_view key, std::string_view value);
  // Stores every (key, value) of `entries` as one atomic batch (Writer::append_batch):
  // after a crash either all of them are back or none. Durable when it returns; the
  // LSN of the last record.
  Result<Lsn> put_many(
      const std::vector<std::pair<std::string_view, std::string_view>>& entries);
  // NotFound (and nothing logged) when `key` is absent.
  Result<Lsn> del(std::string_view key);

  // NotFound when `key` is absent.
  Result<std::string> get(std::string_view key) const;
  // Calls `visit` for each key starting with `prefix`, in key order.
  void scan(std::string_view prefix,
            const std::function<void(const std::string& key, const std::string& value)>&
                visit) const;

  // Writes the whole map to DIR/CHECKPOINT (atomically: a crash leaves the old one or
  // the new one), then releases the log segments it makes unnecessary.
  Result<CheckpointReport> checkpoint();

  // Syncs and closes the log; the destructor does the same but loses the error.
  Status close();

 private:
  KvStore() = default;
  Status load_checkpoint();
  Status open_log(const wal::WalConfig& config);
  Status apply(const wal::RecordView& record);
  // Appends strictly, then applies: the LSN of the durable record.
  Result<Lsn> commit(const wal::Payload& payload);

  std::unique_ptr<io::FileDisk> disk_;
  std::unique_ptr<io::FileLock> lock_;
  std::unique_ptr<wal::Writer> writer_;
  Map map_;
  uint64_t checkpoint_lsn_ = 0;  // 0: no checkpoint yet
};

}  // namespace kaya::kv
