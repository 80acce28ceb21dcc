#include "sim_disk_state.h"

#include <algorithm>
#include <cassert>

namespace kaya::io {
namespace sim {

std::vector<std::string> components(const RelativePath& path) {
  std::vector<std::string> parts;
  const std::string& s = path.str();
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('/', start);
    if (end == std::string::npos) end = s.size();
    parts.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace sim

using sim::components;
using sim::Node;

Result<Node*> SimDisk::State::find_dir(const RelativePath& dir, std::string_view op) {
  Node* node = root.get();
  RelativePath at;
  for (const std::string& part : components(dir)) {
    KAYA_ASSIGN_OR_RETURN(at, at.join(part));
    auto it = node->entries.find(part);
    if (it == node->entries.end()) {
      return error(ErrorKind::kNotFound, op, dir,
                   "directory " + name(at) + " does not exist");
    }
    if (!it->second->is_dir) {
      return error(ErrorKind::kIo, op, dir, name(at) + " is not a directory");
    }
    node = it->second.get();
  }
  return node;
}

Result<Node*> SimDisk::State::parent_of(const RelativePath& path, std::string_view op) {
  if (path.is_root()) return error(ErrorKind::kIo, op, path, "the root is a directory");
  return find_dir(path.parent(), op);
}

Result<Node*> SimDisk::State::find_file(const RelativePath& path, std::string_view op) {
  KAYA_ASSIGN_OR_RETURN(Node * dir, parent_of(path, op));
  auto it = dir->entries.find(std::string(path.filename()));
  if (it == dir->entries.end()) {
    return error(ErrorKind::kNotFound, op, path, "no such file");
  }
  if (it->second->is_dir) return error(ErrorKind::kIo, op, path, "is a directory");
  return it->second.get();
}

Result<Node*> SimDisk::State::find_or_create_file(const RelativePath& path,
                                                  std::string_view op) {
  KAYA_ASSIGN_OR_RETURN(Node * dir, parent_of(path, op));
  // The node is made before the entry, so that running out of memory leaves none.
  std::string name(path.filename());
  auto it = dir->entries.find(name);
  if (it == dir->entries.end()) {
    it = dir->entries.emplace(std::move(name), std::make_shared<Node>()).first;
  }
  if (it->second->is_dir) return error(ErrorKind::kIo, op, path, "is a directory");
  return it->second.get();
}

void SimDisk::State::resize(Node& file, uint64_t len) {
  file.written.add_bytes(file.bytes.size(), len);
  total_bytes = total_bytes - file.bytes.size() + len;
  file.bytes.resize(len);
}

Status SimDisk::State::write(Node& file, uint64_t offset, ByteView bytes,
                             std::string_view op, const RelativePath& path) {
  uint64_t end = offset + bytes.size();
  uint64_t growth = end > file.bytes.size() ? end - file.bytes.size() : 0;
  if (options.capacity_bytes != 0 && total_bytes + growth > options.capacity_bytes) {
    return error(ErrorKind::kDiskFull, op, path, "the simulated disk is full");
  }
  std::optional<FaultKind> fault = write_fault();
  if (fault == FaultKind::kWriteError) {
    return error(ErrorKind::kIo, op, path, "injected write error");
  }
  if (fault == FaultKind::kDiskFull) {
    return error(ErrorKind::kDiskFull, op, path, "injected disk full");
  }
  size_t len = fault == FaultKind::kShortWrite ? below(bytes.size()) : bytes.size();
  if (offset + len > file.bytes.size()) resize(file, offset + len);
  std::copy_n(bytes.begin(), len, file.bytes.begin() + static_cast<ptrdiff_t>(offset));
  file.written.add_bytes(offset, offset + len);
  if (fault == FaultKind::kShortWrite) {
    return error(ErrorKind::kIo, op, path,
                 "injected short write (" + std::to_string(len) + " of " +
                     std::to_string(bytes.size()) + " bytes written)");
  }
  return ok_status();
}

void SimDisk::State::restore(Node& dir, std::set<Node*>& seen) {
  std::map<std::string, std::shared_ptr<Node>> kept = dir.durable_entries;
  if (options.new_entries_may_survive) {
    std::set<const Node*> durable;
    for (const auto& [unused, node] : dir.durable_entries) durable.insert(node.get());
    for (const auto& [name, node] : dir.entries) {
      // A new file, under a name no durable entry holds (not a renamed one).
      if (node->is_dir || durable.count(node.get()) > 0 ||
          dir.durable_entries.count(name) > 0) {
        continue;
      }
      if (below(2) == 0) kept.emplace(name, node);
    }
  }
  dir.entries = std::move(kept);
  for (auto& [unused, node] : dir.entries) {
    if (node->is_dir) {
      restore(*node, seen);
    } else if (seen.insert(node.get()).second) {
      restore_file(*node);
    }
  }
}

void SimDisk::State::restore_file(Node& file) {
  assert(sim::written_covers_changes(file.durable_bytes, file.bytes, file.written));
  switch (options.persistence) {
    case CrashPersistence::kPrefix:
      file.bytes =
          sim::persist_prefix(file.durable_bytes, file.bytes, options.tear_on_crash, rng);
      break;
    case CrashPersistence::kSectors:
      file.bytes = sim::persist_sectors(file.durable_bytes, file.bytes, file.written,
                                        options.tear_on_crash, rng);
      break;
  }
  // What survived a power loss is what the platter holds.
  file.durable_bytes = file.bytes;
  file.written.clear();
  total_bytes += file.bytes.size();
}

}  // namespace kaya::io
