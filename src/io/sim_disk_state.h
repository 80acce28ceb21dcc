// SimDisk's medium: the tree of inodes with their current and durable contents, the
// capacity and the fault draws of a write, and what a power loss leaves of it (with the
// persistence model of sim_crash.h). sim_disk.cc implements the Disk operations on it.
// SimDisk calls every non-static member with `mu` held.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kaya/io/sim_disk.h"
#include "sim_crash.h"

namespace kaya::io {
namespace sim {

// An inode: rename moves the object, so a file keeps its bytes and durability state
// under its new name. Directories hold entries; files hold bytes.
struct Node {
  bool is_dir = false;
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> durable_bytes;
  sim::SectorSet written;  // sectors written since the last fsync_file
  std::map<std::string, std::shared_ptr<Node>> entries;
  std::map<std::string, std::shared_ptr<Node>> durable_entries;
};

// Shared with the lock objects so that they may outlive the disk. Every acquisition
// gets a fresh id: a lock object from before a crash finds a different id (or none)
// and so never releases a lock taken after the crash.
struct LockTable {
  std::mutex mu;
  uint64_t next_id = 0;
  std::map<std::string, uint64_t> held;  // path -> id of the holder
};

// The names of `path`'s components, from the root down.
std::vector<std::string> components(const RelativePath& path);

}  // namespace sim

struct SimDisk::State {
  using Node = sim::Node;
  using LockTable = sim::LockTable;

  explicit State(SimDiskOptions opts) : options(opts), rng(opts.seed) {
    root->is_dir = true;
    for (int k = 0; k < kFaultKindCount; ++k) {
      faults.set_probability(static_cast<FaultKind>(k), opts.fault_probability[k]);
    }
  }

  SimDiskOptions options;
  mutable std::mutex mu;
  // Every random choice comes from here, in call order: one seed, one history.
  std::mt19937_64 rng;
  std::shared_ptr<Node> root = std::make_shared<Node>();
  FaultSchedule faults;
  std::function<void(const RelativePath&)> fsync_hook;
  uint64_t fsync_file_count = 0;
  uint64_t fsync_dir_count = 0;
  uint64_t total_bytes = 0;
  std::shared_ptr<LockTable> locks = std::make_shared<LockTable>();

  static std::string name(const RelativePath& path) {
    return "sim:" + (path.is_root() ? std::string(".") : path.str());
  }
  static Error error(ErrorKind kind, std::string_view op, const RelativePath& path,
                     std::string_view why) {
    return Error(kind,
                 std::string(op) + " " + name(path) + " failed: " + std::string(why));
  }

  // Straight from rng's bits, never through a std distribution (see sim::below()).
  uint64_t below(uint64_t n) { return sim::below(rng, n); }
  double unit() { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

  bool fault(FaultKind kind) {
    return faults.fire(kind, [this] { return unit(); });
  }
  std::optional<FaultKind> write_fault() {
    return faults.write_fault([this] { return unit(); });
  }

  Result<Node*> find_dir(const RelativePath& dir, std::string_view op);
  // The directory holding `path`'s entry; `path` must not be the root.
  Result<Node*> parent_of(const RelativePath& path, std::string_view op);
  Result<Node*> find_file(const RelativePath& path, std::string_view op);
  Result<Node*> find_or_create_file(const RelativePath& path, std::string_view op);

  // Growing writes zeros from the old end; shrinking writes no sector.
  void resize(Node& file, uint64_t len);
  // Writes `bytes` at `offset` unless the capacity or a fault forbids it; a short
  // write lands a strict prefix.
  Status write(Node& file, uint64_t offset, ByteView bytes, std::string_view op,
               const RelativePath& path);

  // Power loss: every directory reachable through durable entries gets its durable
  // entries back; every file reachable that way what the persistence model leaves of
  // it. The rest is unreachable and freed.
  void restore(Node& dir, std::set<Node*>& seen);
  void restore_file(Node& file);
};

}  // namespace kaya::io
