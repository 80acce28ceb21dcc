// A Disk that forwards every call to another and records it: which operation, on which
// path, in order. Tests use it to assert what a component asked of the disk (the order
// of a lock and a listing, the number of reads, no fsync after a failure). It can also
// stop at an operation, as a process that dies right before it (stop_at).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kaya/io/disk.h"

namespace kaya::wal::testing {

class RecordingDisk final : public io::Disk {
 public:
  struct Call {
    std::string op;    // the Disk method's name, e.g. "read_at"
    std::string path;  // its (first) path
  };

  explicit RecordingDisk(io::Disk& inner) : inner_(inner) {}

  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  // How many calls of `op` were recorded: on any path, or on `path` only.
  size_t count(std::string_view op,
               std::optional<std::string_view> path = std::nullopt) const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<size_t>(std::count_if(
        calls_.begin(), calls_.end(),
        [&](const Call& c) { return c.op == op && (!path || c.path == *path); }));
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.clear();
  }
  // From now on, the n-th next operation that changes the disk (append, write_at,
  // truncate, fsync_file, fsync_dir, create_dir, rename, remove_file; map_for_write is
  // refused meanwhile) and every one after it fail with Io without reaching the inner
  // disk: the process died right before it. 0 cancels.
  void stop_at(uint64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    stop_in_ = n;
    stopped_.clear();
  }
  // "op path" of the operation stopped at ("" while none was).
  std::string stopped_at() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopped_;
  }
  // Called (outside the recorder's lock, after the call is recorded, before it goes
  // on) by every write_at: a test holds a write there, as one in flight, or fails it
  // (an error is returned without the write reaching the inner disk).
  std::function<Status(const io::RelativePath& path, uint64_t offset)> before_write_at;
  // Called by every map_for_write (after it is recorded): an error is returned without
  // reaching the inner disk (a test's out of memory, say).
  std::function<Status(const io::RelativePath& path)> before_map_for_write;
  // Breaks Disk::map_for_write's contract on purpose: maps at most `bytes` bytes of
  // what is asked (the writer's invariant tests).
  void map_at_most(uint64_t bytes) { map_at_most_ = bytes; }

  using io::Disk::append;
  Result<uint64_t> append(const io::RelativePath& path,
                          std::span<const io::ByteView> parts) override {
    if (Status s = change("append", path); !s.ok()) return s.error();
    return inner_.append(path, parts);
  }
  Result<size_t> read_at(const io::RelativePath& path, uint64_t offset,
                         std::span<uint8_t> out) override {
    record("read_at", path);
    return inner_.read_at(path, offset, out);
  }
  Status write_at(const io::RelativePath& path, uint64_t offset,
                  io::ByteView bytes) override {
    if (Status s = change("write_at", path); !s.ok()) return s.error();
    if (before_write_at) {
      if (Status s = before_write_at(path, offset); !s.ok()) return s.error();
    }
    return inner_.write_at(path, offset, bytes);
  }
  Result<uint64_t> file_len(const io::RelativePath& path) override {
    record("file_len", path);
    return inner_.file_len(path);
  }
  Status truncate(const io::RelativePath& path, uint64_t len) override {
    if (Status s = change("truncate", path); !s.ok()) return s.error();
    return inner_.truncate(path, len);
  }
  bool can_map() const override { return inner_.can_map(); }
  bool writes_are_durable() const override { return inner_.writes_are_durable(); }
  Result<std::unique_ptr<io::WritableMap>> map_for_write(const io::RelativePath& path,
                                                         uint64_t offset,
                                                         uint64_t len) override {
    record("map_for_write", path);
    if (before_map_for_write) {
      if (Status s = before_map_for_write(path); !s.ok()) return s.error();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_in_ > 0 || !stopped_.empty()) {
        return Error(ErrorKind::kIo, "RecordingDisk: no map while stopping");
      }
    }
    return inner_.map_for_write(path, offset, std::min(len, map_at_most_));
  }
  io::DiskLimits limits() const override { return inner_.limits(); }
  Status fsync_file(const io::RelativePath& path) override {
    if (Status s = change("fsync_file", path); !s.ok()) return s.error();
    return inner_.fsync_file(path);
  }
  Status fsync_dir(const io::RelativePath& dir) override {
    if (Status s = change("fsync_dir", dir); !s.ok()) return s.error();
    return inner_.fsync_dir(dir);
  }
  Result<std::vector<std::string>> list_dir(const io::RelativePath& dir) override {
    record("list_dir", dir);
    return inner_.list_dir(dir);
  }
  Status create_dir(const io::RelativePath& dir) override {
    if (Status s = change("create_dir", dir); !s.ok()) return s.error();
    return inner_.create_dir(dir);
  }
  Status rename(const io::RelativePath& from, const io::RelativePath& to) override {
    if (Status s = change("rename", from); !s.ok()) return s.error();
    return inner_.rename(from, to);
  }
  Status remove_file(const io::RelativePath& path) override {
    if (Status s = change("remove_file", path); !s.ok()) return s.error();
    return inner_.remove_file(path);
  }
  Result<std::unique_ptr<io::FileLock>> lock_file(const io::RelativePath& path) override {
    record("lock_file", path);
    return inner_.lock_file(path);
  }
  Result<bool> lock_held(const io::RelativePath& path) override {
    record("lock_held", path);
    return inner_.lock_held(path);
  }
  Result<bool> still_linked(const io::RelativePath& path) override {
    record("still_linked", path);
    return inner_.still_linked(path);
  }
  std::string describe(const io::RelativePath& path) const override {
    return inner_.describe(path);
  }

 private:
  // Records a changing operation; an error once stopped (stop_at).
  Status change(const char* op, const io::RelativePath& path) {
    record(op, path);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_.empty() && (stop_in_ == 0 || --stop_in_ > 0)) return ok_status();
    if (stopped_.empty()) stopped_ = std::string(op) + " " + path.str();
    return Error(ErrorKind::kIo, "RecordingDisk: stopped before " + stopped_);
  }
  void record(std::string op, const io::RelativePath& path) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(Call{std::move(op), path.str()});
  }

  io::Disk& inner_;
  mutable std::mutex mu_;
  std::vector<Call> calls_;
  uint64_t map_at_most_ = UINT64_MAX;
  uint64_t stop_in_ = 0;  // see stop_at
  std::string stopped_;
};

}  // namespace kaya::wal::testing
