#include "kaya/io/sim_disk.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

#include "sim_disk_state.h"

namespace kaya::io {
namespace {

using sim::components;
using sim::LockTable;
using sim::Node;

class SimLock final : public FileLock {
 public:
  SimLock(std::shared_ptr<LockTable> table, std::string path, uint64_t id)
      : table_(std::move(table)), path_(std::move(path)), id_(id) {}
  ~SimLock() override {
    std::lock_guard<std::mutex> lock(table_->mu);
    auto it = table_->held.find(path_);
    if (it != table_->held.end() && it->second == id_) table_->held.erase(it);
  }

 private:
  std::shared_ptr<LockTable> table_;
  std::string path_;
  uint64_t id_;
};

}  // namespace

std::string_view to_string(CrashPersistence persistence) {
  switch (persistence) {
    case CrashPersistence::kPrefix:
      return "Prefix";
    case CrashPersistence::kSectors:
      return "Sectors";
  }
  return "Unknown";
}

SimDisk::SimDisk(SimDiskOptions options) : state_(std::make_unique<State>(options)) {}
SimDisk::~SimDisk() = default;

void SimDisk::set_fault_probability(FaultKind kind, double probability) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->faults.set_probability(kind, probability);
}

void SimDisk::fail_nth(FaultKind kind, uint64_t n) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->faults.fail_nth(kind, n);
}

void SimDisk::clear_faults() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->faults.clear();
}

uint64_t SimDisk::faults_injected(FaultKind kind) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->faults.fired(kind);
}

void SimDisk::crash() {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::set<Node*> seen;
  state_->total_bytes = 0;
  state_->restore(*state_->root, seen);
  std::lock_guard<std::mutex> locks_lock(state_->locks->mu);
  state_->locks->held.clear();
}

void SimDisk::set_fsync_hook(std::function<void(const RelativePath&)> hook) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->fsync_hook = std::move(hook);
}

uint64_t SimDisk::fsync_file_count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->fsync_file_count;
}

uint64_t SimDisk::fsync_dir_count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->fsync_dir_count;
}

Result<uint64_t> SimDisk::durable_len(const RelativePath& path) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  const Node* node = state_->root.get();
  for (const std::string& part : components(path)) {
    auto it = node->durable_entries.find(part);
    if (!node->is_dir || it == node->durable_entries.end()) {
      return State::error(ErrorKind::kNotFound, "durable length of", path,
                          "no durable entry");
    }
    node = it->second.get();
  }
  if (node->is_dir)
    return State::error(ErrorKind::kIo, "durable length of", path, "is a directory");
  return static_cast<uint64_t>(node->durable_bytes.size());
}

uint64_t SimDisk::total_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->total_bytes;
}

std::string SimDisk::describe(const RelativePath& path) const {
  return State::name(path);
}

Result<uint64_t> SimDisk::append(const RelativePath& path,
                                 std::span<const ByteView> parts) {
  std::vector<uint8_t> bytes;
  for (ByteView part : parts) bytes.insert(bytes.end(), part.begin(), part.end());
  std::lock_guard<std::mutex> lock(state_->mu);
  KAYA_ASSIGN_OR_RETURN(Node * file, state_->find_or_create_file(path, "append to"));
  uint64_t offset = file->bytes.size();
  KAYA_RETURN_IF_ERROR(state_->write(*file, offset, bytes, "append to", path));
  return offset;
}

Result<size_t> SimDisk::read_at(const RelativePath& path, uint64_t offset,
                                std::span<uint8_t> out) {
  std::lock_guard<std::mutex> lock(state_->mu);
  KAYA_ASSIGN_OR_RETURN(Node * file, state_->find_file(path, "read from"));
  if (state_->fault(FaultKind::kReadError)) {
    return State::error(ErrorKind::kIo,
                        "read at offset " + std::to_string(offset) + " from", path,
                        "injected read error");
  }
  if (offset >= file->bytes.size()) return size_t{0};
  size_t n = std::min<uint64_t>(out.size(), file->bytes.size() - offset);
  if (state_->options.short_reads && n > 1 && state_->below(2) == 0) {
    n = 1 + state_->below(n - 1);
  }
  std::copy_n(file->bytes.begin() + static_cast<ptrdiff_t>(offset), n, out.begin());
  return n;
}

Status SimDisk::write_at(const RelativePath& path, uint64_t offset, ByteView bytes) {
  std::lock_guard<std::mutex> lock(state_->mu);
  const std::string op = "write at offset " + std::to_string(offset) + " to";
  KAYA_ASSIGN_OR_RETURN(Node * file, state_->find_file(path, op));
  return state_->write(*file, offset, bytes, op, path);
}

Result<uint64_t> SimDisk::file_len(const RelativePath& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  KAYA_ASSIGN_OR_RETURN(Node * file, state_->find_file(path, "stat"));
  return static_cast<uint64_t>(file->bytes.size());
}

Status SimDisk::truncate(const RelativePath& path, uint64_t len) {
  std::lock_guard<std::mutex> lock(state_->mu);
  KAYA_ASSIGN_OR_RETURN(Node * file, state_->find_file(path, "truncate"));
  state_->resize(*file, len);
  return ok_status();
}

namespace {

// Stores go to a buffer of the writer's; publish() copies them into the file under the
// disk's mutex (as a write, with its faults), so readers never see a store half done.
class SimMap final : public WritableMap {
 public:
  using Publish = std::function<Status(uint64_t offset, ByteView bytes)>;
  SimMap(uint64_t offset, std::vector<uint8_t> buffer, Publish publish)
      : WritableMap(offset, std::span<uint8_t>()),
        buffer_(std::move(buffer)),
        publish_(std::move(publish)) {
    set_data(buffer_);
  }
  Status publish(uint64_t begin, uint64_t end) override {
    return publish_(offset() + begin, ByteView(buffer_).subspan(begin, end - begin));
  }

 private:
  std::vector<uint8_t> buffer_;
  Publish publish_;
};

}  // namespace

Result<std::unique_ptr<WritableMap>> SimDisk::map_for_write(const RelativePath& path,
                                                            uint64_t offset,
                                                            uint64_t len) {
  std::vector<uint8_t> buffer(len);
  std::shared_ptr<Node> node;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    const std::string op = "allocate [" + std::to_string(offset) + ", " +
                           std::to_string(offset + len) + ") of";
    KAYA_ASSIGN_OR_RETURN(Node * file, state_->find_file(path, op));
    const uint64_t end = offset + len;
    if (end > file->bytes.size()) {
      const uint64_t from = file->bytes.size();
      KAYA_RETURN_IF_ERROR(
          state_->write(*file, from, std::vector<uint8_t>(end - from), op, path));
    }
    std::copy_n(file->bytes.begin() + static_cast<ptrdiff_t>(offset), len,
                buffer.begin());
    KAYA_ASSIGN_OR_RETURN(Node * dir, state_->parent_of(path, op));
    node = dir->entries.at(std::string(path.filename()));
  }
  State* state = state_.get();
  auto publish = [state, node, path](uint64_t at, ByteView bytes) -> Status {
    std::lock_guard<std::mutex> lock(state->mu);
    return state->write(*node, at, bytes,
                        "store at offset " + std::to_string(at) + " into mapped", path);
  };
  return std::unique_ptr<WritableMap>(
      new SimMap(offset, std::move(buffer), std::move(publish)));
}

Status SimDisk::fsync_file(const RelativePath& path) {
  std::function<void(const RelativePath&)> hook;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    hook = state_->fsync_hook;
  }
  // Outside the mutex so a test can park an fsync here while others keep going.
  if (hook) hook(path);
  std::lock_guard<std::mutex> lock(state_->mu);
  KAYA_ASSIGN_OR_RETURN(Node * file, state_->find_file(path, "fdatasync"));
  ++state_->fsync_file_count;
  if (state_->fault(FaultKind::kFsyncFailure)) {
    return State::error(ErrorKind::kFsyncFailed, "fdatasync", path,
                        "injected fsync failure");
  }
  file->durable_bytes = file->bytes;
  file->written.clear();
  return ok_status();
}

Status SimDisk::fsync_dir(const RelativePath& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  KAYA_ASSIGN_OR_RETURN(Node * node, state_->find_dir(dir, "fsync directory"));
  ++state_->fsync_dir_count;
  if (state_->fault(FaultKind::kFsyncFailure)) {
    return State::error(ErrorKind::kFsyncFailed, "fsync directory", dir,
                        "injected fsync failure");
  }
  node->durable_entries = node->entries;
  return ok_status();
}

Result<std::vector<std::string>> SimDisk::list_dir(const RelativePath& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  KAYA_ASSIGN_OR_RETURN(Node * node, state_->find_dir(dir, "list directory"));
  std::vector<std::string> names;
  for (const auto& [name, unused] : node->entries) names.push_back(name);
  return names;  // std::map keeps them sorted
}

Status SimDisk::create_dir(const RelativePath& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (dir.is_root()) return ok_status();
  KAYA_ASSIGN_OR_RETURN(Node * parent, state_->parent_of(dir, "create directory"));
  std::string name(dir.filename());
  auto it = parent->entries.find(name);
  if (it == parent->entries.end()) {
    auto node = std::make_shared<Node>();  // before the entry: see find_or_create_file
    node->is_dir = true;
    it = parent->entries.emplace(std::move(name), std::move(node)).first;
  }
  const std::shared_ptr<Node>& slot = it->second;
  if (!slot->is_dir) {
    return State::error(ErrorKind::kIo, "create directory", dir, "a file has that name");
  }
  return ok_status();
}

Status SimDisk::rename(const RelativePath& from, const RelativePath& to) {
  std::lock_guard<std::mutex> lock(state_->mu);
  const std::string op = "rename " + State::name(from) + " to";
  KAYA_ASSIGN_OR_RETURN(Node * from_dir, state_->parent_of(from, op));
  auto it = from_dir->entries.find(std::string(from.filename()));
  if (it == from_dir->entries.end()) {
    return State::error(ErrorKind::kNotFound, op, to,
                        State::name(from) + " does not exist");
  }
  if (it->second->is_dir) {
    return State::error(ErrorKind::kInvalidArgument, op, to,
                        "the simulated disk renames files only");
  }
  KAYA_ASSIGN_OR_RETURN(Node * to_dir, state_->parent_of(to, op));
  if (from == to) return ok_status();
  auto target = to_dir->entries.find(std::string(to.filename()));
  if (target != to_dir->entries.end()) {
    if (target->second->is_dir)
      return State::error(ErrorKind::kIo, op, to, "is a directory");
    state_->total_bytes -= target->second->bytes.size();
  }
  std::shared_ptr<Node> node = std::move(it->second);
  from_dir->entries.erase(it);
  to_dir->entries[std::string(to.filename())] = std::move(node);
  return ok_status();
}

Status SimDisk::remove_file(const RelativePath& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  KAYA_ASSIGN_OR_RETURN(Node * file, state_->find_file(path, "remove"));
  state_->total_bytes -= file->bytes.size();
  KAYA_ASSIGN_OR_RETURN(Node * dir, state_->parent_of(path, "remove"));
  dir->entries.erase(std::string(path.filename()));
  return ok_status();
}

Result<bool> SimDisk::still_linked(const RelativePath& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  auto file = state_->find_file(path, "stat");
  if (file.ok()) return true;
  if (file.error().kind() == ErrorKind::kNotFound) return false;
  return std::move(file).error();
}

Result<bool> SimDisk::lock_held(const RelativePath& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  LockTable& table = *state_->locks;
  std::lock_guard<std::mutex> table_lock(table.mu);
  return table.held.contains(path.str());
}

Result<std::unique_ptr<FileLock>> SimDisk::lock_file(const RelativePath& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  KAYA_RETURN_IF_ERROR(state_->find_or_create_file(path, "lock"));
  LockTable& table = *state_->locks;
  std::lock_guard<std::mutex> table_lock(table.mu);
  if (table.held.contains(path.str())) {
    return Error(ErrorKind::kLockConflict,
                 "lock file " + State::name(path) +
                     " is held by another process (an exclusive lock has one holder "
                     "at a time)");
  }
  uint64_t id = ++table.next_id;
  table.held[path.str()] = id;
  try {
    return std::unique_ptr<FileLock>(new SimLock(state_->locks, path.str(), id));
  } catch (...) {
    table.held.erase(path.str());  // out of memory: no holder without a lock object
    throw;
  }
}

}  // namespace kaya::io
