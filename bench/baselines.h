// The raw-syscall baselines wal_bench measures kaya against, and the runs of kaya's
// cases and the baselines on the workload engine (tools/workload): once, or taking
// turns in slices.
//
// - RawLog: one thread's pwrite (+ fdatasync) per record into a growing, fallocated
//   or zero-filled file: the cheapest a one-thread strict (or relaxed) append can be.
// - SyncedFiles: several threads' pwrite per record into files fdatasync'ed one at a
//   time in the background: a relaxed stream that, like kaya's, ends up durable.
// - IdealGroupCommit: appenders queue a pointer to their record and sleep on their own
//   semaphore; one I/O thread takes the whole queue, writes it with one pwritev, does
//   one fdatasync and wakes exactly the appenders it covered. No encoding, no copy, no
//   notify_all: the best group commit can do on this file system.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <semaphore>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "kaya/core/histogram.h"
#include "kaya/core/status.h"
#include "workload.h"

namespace kaya::bench {

using workload::AppendFn;
using workload::Throughput;

// `threads` threads appending for `seconds` (workload::Quota::kTime). Dies when an
// append fails.
Throughput run_appenders(int threads, double seconds, const AppendFn& append);

// `threads` threads making `records` appends, each taking the next from a shared
// count (workload::Quota::kShared). Dies when an append fails.
Throughput run_records(int threads, uint64_t records, const AppendFn& append);

// run_interleaved with slices of `records / rounds` appends (run_records) instead of
// slices of time.
std::vector<Throughput> run_interleaved_records(int threads, uint64_t records, int rounds,
                                                const std::vector<AppendFn>& appends);

// Measures contestants (appends[c] as in run_appenders, each with `threads` threads)
// taking turns, so that a drift in the disk's speed falls on all of them alike:
// `rounds` rounds, each giving every contestant one run_appenders slice of
// `seconds / rounds`. Returns each contestant's slices added up (about `seconds`).
// The order changes from round to round (a balanced Latin square): over every n rounds
// (2n for an odd n) each contestant starts equally many rounds and follows each other
// one equally often, so what one leaves behind (dirty pages, a journal commit) does
// not always fall on the same next one.
std::vector<Throughput> run_interleaved(int threads, double seconds, int rounds,
                                        const std::vector<AppendFn>& appends);

// The same turns for contestants that time themselves: slice(s) appends for about s
// seconds in its own way (a pipeline it drains before returning, say) and returns what
// it measured.
std::vector<Throughput> run_interleaved_slices(
    double seconds, int rounds,
    const std::vector<std::function<Throughput(double seconds)>>& slices);

// A file written by one thread with pwrite at increasing offsets (or by a contestant's
// own threads or ring, through next_offset() and write_at()).
class RawLog {
 public:
  enum class Kind {
    kGrowing,     // new, empty: every write extends it
    kFallocated,  // posix_fallocate'd 16 MiB ahead of the writes
    kZeroFilled,  // 16 MiB of zeros written and fsynced first; writes wrap around in it
  };
  RawLog(const std::string& path, Kind kind);
  ~RawLog();
  RawLog(const RawLog&) = delete;
  RawLog& operator=(const RawLog&) = delete;

  // Writes `record` after the previous one; with `sync`, fdatasync()s it.
  Status append(std::span<const uint8_t> record, bool sync);
  // For a contestant doing its own I/O on the file: where the next record of `bytes`
  // goes (fallocating ahead or wrapping around as append() does), reserved by this
  // call (one call at a time); and the descriptor.
  Result<uint64_t> next_offset(size_t bytes);
  int fd() const { return fd_; }
  // Writes `record` at `offset` (from next_offset()), fdatasync()ing it with `sync`.
  // Thread-safe.
  Status write_at(std::span<const uint8_t> record, uint64_t offset, bool sync);

  static const char* name(Kind kind);

 private:
  std::string path_;
  Kind kind_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  uint64_t allocated_ = 0;  // kFallocated: bytes reserved so far
};

// Several threads' pwrite per record at the next offset of a shared count, into
// files of `file_bytes` (as kaya's segments), each fdatasync'ed by a background thread
// once the count has passed its end: the pwrite loop that also makes its bytes durable
// a file at a time, off the appenders' path, as kaya's closes do (the last file is left
// unsynced, like kaya's last segment). A record never spans two files (the record size
// divides file_bytes).
class SyncedFiles {
 public:
  // Creates the files (dir/synced-<i>) for `total_bytes` of records.
  SyncedFiles(const std::string& dir, uint64_t file_bytes, uint64_t total_bytes);
  // Stops the syncing thread; closes and removes the files.
  ~SyncedFiles();
  SyncedFiles(const SyncedFiles&) = delete;
  SyncedFiles& operator=(const SyncedFiles&) = delete;

  // Thread-safe.
  Status append(std::span<const uint8_t> record);
  // fdatasync calls made (read after the appenders stopped).
  uint64_t fsyncs() const { return fsyncs_.load(); }

 private:
  void sync_loop();

  const uint64_t file_bytes_;
  std::vector<std::string> paths_;
  std::vector<int> fds_;
  std::atomic<uint64_t> offset_{0};
  std::atomic<uint64_t> fsyncs_{0};
  std::atomic<bool> stop_{false};
  std::thread syncer_;
};

class IdealGroupCommit {
 public:
  // `appenders` threads will call append(0..appenders-1).
  IdealGroupCommit(const std::string& path, int appenders);
  // Stops the I/O thread (every append must have returned) and removes the file.
  ~IdealGroupCommit();
  IdealGroupCommit(const IdealGroupCommit&) = delete;
  IdealGroupCommit& operator=(const IdealGroupCommit&) = delete;

  // Returns once `record` is written and fdatasync'ed. `record` must stay valid until
  // then. One call at a time per `appender`. Dies on an I/O error.
  void append(int appender, std::span<const uint8_t> record);

  // Read after the appenders stopped.
  uint64_t fsyncs() const { return fsyncs_; }
  const Histogram& fsync_us() const { return fsync_us_; }

 private:
  struct Waiter {
    std::binary_semaphore done{0};
    std::span<const uint8_t> record;
  };
  void io_loop();
  void write_and_sync(const std::vector<Waiter*>& batch);

  std::string path_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  std::vector<std::unique_ptr<Waiter>> waiters_;  // one per appender

  std::mutex mu_;
  std::condition_variable io_cv_;
  std::vector<Waiter*> queue_;  // guarded by mu_
  bool io_idle_ = false;        // the I/O thread waits on io_cv_; guarded by mu_
  bool stop_ = false;           // guarded by mu_

  uint64_t fsyncs_ = 0;  // I/O thread only, until joined
  Histogram fsync_us_;   // I/O thread only, until joined
  std::thread io_;
};

}  // namespace kaya::bench
