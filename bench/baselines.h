// The raw-syscall baselines wal_bench measures kaya against, and the timed appender
// loop shared by kaya's cases and the baselines (run once, or interleaved in slices).
//
// - RawLog: one thread's pwrite (+ fdatasync) per record into a growing, fallocated
//   or zero-filled file: the cheapest a one-thread strict (or relaxed) append can be.
// - IdealGroupCommit: appenders queue a pointer to their record and sleep on their own
//   semaphore; one I/O thread takes the whole queue, writes it with one pwritev, does
//   one fdatasync and wakes exactly the appenders it covered. No encoding, no copy, no
//   notify_all: the best group commit can do on this file system.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <semaphore>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "kaya/core/histogram.h"

namespace kaya::bench {

// What a timed run of appends measured.
struct Throughput {
  double seconds = 0;    // from the common start to the last acknowledgement
  uint64_t records = 0;  // acknowledged
  Histogram commit_us;   // per append: call to acknowledgement

  double per_s() const {
    return seconds > 0 ? static_cast<double>(records) / seconds : 0;
  }
  // Adds a further slice of the same contestant's appends: seconds and records summed,
  // latencies merged (per_s() is then over all the slices).
  void add(const Throughput& slice);
};

// Starts `threads` threads together (a latch), each calling append(thread) in a loop
// for `seconds`, timing every call. Each thread finishes the append in progress when
// time is up; `seconds` of the result runs until the last one returned.
Throughput run_appenders(int threads, double seconds,
                         const std::function<void(int thread)>& append);

// Like run_appenders, but for a fixed number of appends: the threads take turns from a
// shared count until `records` appends were made; `seconds` of the result runs from
// the common start until the last one returned.
Throughput run_records(int threads, uint64_t records,
                       const std::function<void(int thread)>& append);

// run_interleaved with slices of `records / rounds` appends (run_records) instead of
// slices of time.
std::vector<Throughput> run_interleaved_records(
    int threads, uint64_t records, int rounds,
    const std::vector<std::function<void(int thread)>>& appends);

// Measures contestants (appends[c] as in run_appenders, each with `threads` threads)
// taking turns, so that a drift in the disk's speed falls on all of them alike:
// `rounds` rounds, each giving every contestant one run_appenders slice of
// `seconds / rounds`. Returns each contestant's slices added up (about `seconds`).
// The order changes from round to round (a balanced Latin square): over every n rounds
// (2n for an odd n) each contestant starts equally many rounds and follows each other
// one equally often, so what one leaves behind (dirty pages, a journal commit) does
// not always fall on the same next one.
std::vector<Throughput> run_interleaved(
    int threads, double seconds, int rounds,
    const std::vector<std::function<void(int thread)>>& appends);

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

  // Writes `record` after the previous one; with `sync`, fdatasync()s it. Dies on an
  // error.
  void append(std::span<const uint8_t> record, bool sync);
  // For a contestant doing its own I/O on the file: where the next record of `bytes`
  // goes (fallocating ahead or wrapping around as append() does), reserved by this
  // call; and the descriptor.
  uint64_t next_offset(size_t bytes);
  int fd() const { return fd_; }
  // Writes `record` at `offset` (from next_offset()), fdatasync()ing it with `sync`.
  // Thread-safe. Dies on an error.
  void write_at(std::span<const uint8_t> record, uint64_t offset, bool sync);

  static const char* name(Kind kind);

 private:
  std::string path_;
  Kind kind_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  uint64_t allocated_ = 0;  // kFallocated: bytes reserved so far
};

// A file written by any number of threads, each record with one pwrite at the next
// offset taken from a shared counter (the file grows; no fsync): the cheapest way for
// the same threads to hand the same bytes to the OS. Removed on destruction.
class SharedPwriteLog {
 public:
  explicit SharedPwriteLog(const std::string& path);
  ~SharedPwriteLog();
  SharedPwriteLog(const SharedPwriteLog&) = delete;
  SharedPwriteLog& operator=(const SharedPwriteLog&) = delete;

  // Thread-safe. Dies on an error.
  void append(std::span<const uint8_t> record);

 private:
  std::string path_;
  int fd_ = -1;
  std::atomic<uint64_t> offset_{0};
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
