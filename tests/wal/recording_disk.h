// A Disk that forwards every call to another and records it: which operation, on which
// path, in order. Tests use it to assert what a component asked of the disk (the order
// of a lock and a listing, the number of reads, no fsync after a failure).
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>
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
  // How many calls of `op` were recorded (on any path).
  size_t count(std::string_view op) const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<size_t>(std::count_if(calls_.begin(), calls_.end(),
                                             [&](const Call& c) { return c.op == op; }));
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.clear();
  }
  // Breaks Disk::map_for_write's contract on purpose: maps at most `bytes` bytes of
  // what is asked (the writer's invariant tests).
  void map_at_most(uint64_t bytes) { map_at_most_ = bytes; }

  using io::Disk::append;
  Result<uint64_t> append(const io::RelativePath& path,
                          std::span<const io::ByteView> parts) override {
    record("append", path);
    return inner_.append(path, parts);
  }
  Result<size_t> read_at(const io::RelativePath& path, uint64_t offset,
                         std::span<uint8_t> out) override {
    record("read_at", path);
    return inner_.read_at(path, offset, out);
  }
  Status write_at(const io::RelativePath& path, uint64_t offset,
                  io::ByteView bytes) override {
    record("write_at", path);
    return inner_.write_at(path, offset, bytes);
  }
  Result<uint64_t> file_len(const io::RelativePath& path) override {
    record("file_len", path);
    return inner_.file_len(path);
  }
  Status truncate(const io::RelativePath& path, uint64_t len) override {
    record("truncate", path);
    return inner_.truncate(path, len);
  }
  bool can_map() const override { return inner_.can_map(); }
  bool writes_are_durable() const override { return inner_.writes_are_durable(); }
  Result<std::unique_ptr<io::WritableMap>> map_for_write(const io::RelativePath& path,
                                                         uint64_t offset,
                                                         uint64_t len) override {
    record("map_for_write", path);
    return inner_.map_for_write(path, offset, std::min(len, map_at_most_));
  }
  Status check_config(const WalConfig& config) const override {
    return inner_.check_config(config);
  }
  Status fsync_file(const io::RelativePath& path) override {
    record("fsync_file", path);
    return inner_.fsync_file(path);
  }
  Status fsync_dir(const io::RelativePath& dir) override {
    record("fsync_dir", dir);
    return inner_.fsync_dir(dir);
  }
  Result<std::vector<std::string>> list_dir(const io::RelativePath& dir) override {
    record("list_dir", dir);
    return inner_.list_dir(dir);
  }
  Status create_dir(const io::RelativePath& dir) override {
    record("create_dir", dir);
    return inner_.create_dir(dir);
  }
  Status rename(const io::RelativePath& from, const io::RelativePath& to) override {
    record("rename", from);
    return inner_.rename(from, to);
  }
  Status remove_file(const io::RelativePath& path) override {
    record("remove_file", path);
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
  void record(std::string op, const io::RelativePath& path) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(Call{std::move(op), path.str()});
  }

  io::Disk& inner_;
  mutable std::mutex mu_;
  std::vector<Call> calls_;
  uint64_t map_at_most_ = UINT64_MAX;
};

}  // namespace kaya::wal::testing
