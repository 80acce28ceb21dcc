// Helpers for the wal tests: reading a whole log back through recovery.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kaya/io/disk.h"
#include "kaya/io/sim_disk.h"
#include "kaya/wal/codec.h"
#include "kaya/wal/reader.h"
#include "kaya/wal/recovery.h"
#include "kaya/wal/writer.h"

namespace kaya::wal::testing {

struct LogContents {
  RecoveryReport report;
  std::vector<Record> records;
};

// Every record of the log under `disk`, via a dry-run recovery (changes nothing).
inline Result<LogContents> read_log(io::Disk& disk, const WalConfig& config = {}) {
  LogContents out;
  RecoveryOptions options;
  options.dry_run = true;
  auto report =
      recover(config, disk, options, [&](uint64_t, uint64_t, const RecordView& r) {
        out.records.push_back(r.to_record());
        return ok_status();
      });
  if (!report.ok()) return std::move(report).error();
  out.report = std::move(report).value();
  return out;
}

// What a LogReader yields, read on until its end: the records up to its first error,
// and that error (nullopt: the end of the log came first).
struct ReadUntilEnd {
  std::vector<Record> records;
  std::optional<Error> error;
};

inline ReadUntilEnd read_until_end(LogReader& reader) {
  ReadUntilEnd out;
  for (;;) {
    Result<std::optional<Record>> r = reader.next();
    if (!r.ok()) {
      out.error = r.error();
      return out;
    }
    if (!*r) return out;
    out.records.push_back(std::move(**r));
  }
}

// Segments of one to a few records, so that short logs have many segments.
inline WalConfig small_segments() {
  WalConfig config;
  config.segment_max_bytes = 300;
  config.max_record_bytes = 300;
  return config;
}

inline io::RelativePath segment(uint64_t id) {
  return io::RelativePath::parse(format::segment_path(id)).value();
}

// A power loss while `writer` runs: the disk keeps only its durable state, and the
// writer dies with its process, without one more write or fsync reaching the disk.
// The writer's own threads (the syncer closing a sealed segment, the recovery point's
// thread) go on running until the writer is destroyed, so the writes and fsyncs fail
// *before* the crash: failed after it, a close's fsync running in between would make
// what the crash left of a segment (a torn record) durable, and the recovery point
// written next would name that record, which no process could do after a power loss.
// (A call failed just before the crash is a fault before a power loss: allowed.)
inline void crash_with_writer(io::SimDisk& disk, std::unique_ptr<Writer>& writer) {
  for (auto kind : {io::FaultKind::kFsyncFailure, io::FaultKind::kWriteError}) {
    disk.set_fault_probability(kind, 1.0);
  }
  disk.crash();
  writer.reset();
  disk.clear_faults();
}

// Holds fsync_file calls inside SimDisk's hook while closed, so that a test can keep
// an fsync in progress while other threads go on. With `only`, just the fsyncs of that
// file (e.g. the recovery point's).
class FsyncGate {
 public:
  explicit FsyncGate(io::SimDisk& disk, std::string only = {}) : only_(std::move(only)) {
    disk.set_fsync_hook([this](const io::RelativePath& path) {
      if (!only_.empty() && path.str() != only_) return;
      std::unique_lock lock(mu_);
      if (!closed_) return;
      waiting_++;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !closed_; });
      waiting_--;
    });
  }
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void open() {
    std::lock_guard lock(mu_);
    closed_ = false;
    cv_.notify_all();
  }
  // Waits until an fsync is held at the gate.
  void wait_for_held() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return waiting_ > 0; });
  }

 private:
  const std::string only_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  int waiting_ = 0;
};

}  // namespace kaya::wal::testing
