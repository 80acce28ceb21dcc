#include "kaya/io/fault_disk.h"

#include <algorithm>
#include <string>
#include <vector>

namespace kaya::io {

FaultDisk::FaultDisk(Disk& inner) : inner_(inner) {}
FaultDisk::~FaultDisk() = default;

void FaultDisk::fail_nth(FaultKind kind, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.fail_nth(kind, n);
}

void FaultDisk::clear_faults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
}

uint64_t FaultDisk::faults_injected(FaultKind kind) const {
  std::lock_guard<std::mutex> lock(mu_);
  return faults_.fired(kind);
}

uint64_t FaultDisk::inner_fsync_file_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return inner_fsync_file_count_;
}

uint64_t FaultDisk::inner_fsync_dir_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return inner_fsync_dir_count_;
}

void FaultDisk::spare_paths(std::function<bool(const RelativePath&)> spared) {
  std::lock_guard<std::mutex> lock(mu_);
  spared_ = std::move(spared);
}

bool FaultDisk::fire(FaultKind kind, const RelativePath& path) {
  if (spared_ && spared_(path)) return false;
  return faults_.fire(kind);
}

std::optional<FaultKind> FaultDisk::write_fault(const RelativePath& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (spared_ && spared_(path)) return std::nullopt;
  return faults_.write_fault();
}

Error FaultDisk::injected(ErrorKind kind, std::string_view op, const RelativePath& path,
                          std::string_view what) const {
  return Error(kind, std::string(what) + " (injected by FaultDisk) on " +
                         std::string(op) + " " + inner_.describe(path));
}

Result<uint64_t> FaultDisk::append(const RelativePath& path,
                                   std::span<const ByteView> parts) {
  std::optional<FaultKind> fault = write_fault(path);
  if (fault == FaultKind::kWriteError) {
    return injected(ErrorKind::kIo, "append to", path, "write error");
  }
  if (fault == FaultKind::kDiskFull) {
    return injected(ErrorKind::kDiskFull, "append to", path, "disk full");
  }
  if (fault != FaultKind::kShortWrite) return inner_.append(path, parts);

  // A short write lands the first half of the bytes, cut across the parts.
  size_t total = 0;
  for (ByteView part : parts) total += part.size();
  size_t left = total / 2;
  std::vector<ByteView> prefix;
  for (ByteView part : parts) {
    if (left == 0) break;
    size_t take = std::min(left, part.size());
    prefix.push_back(part.first(take));
    left -= take;
  }
  if (!prefix.empty()) {
    auto written = inner_.append(path, std::span<const ByteView>(prefix));
    if (!written.ok()) return std::move(written).error();
  }
  return injected(ErrorKind::kIo, "append to", path,
                  "short write (" + std::to_string(total / 2) + " of " +
                      std::to_string(total) + " bytes written)");
}

Result<size_t> FaultDisk::read_at(const RelativePath& path, uint64_t offset,
                                  std::span<uint8_t> out) {
  bool fail;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fail = fire(FaultKind::kReadError, path);
  }
  if (fail) {
    return injected(ErrorKind::kIo, "read from", path,
                    "read error at offset " + std::to_string(offset));
  }
  auto n = inner_.read_at(path, offset, out);
  if (n.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    bytes_read_ += *n;
  }
  return n;
}

uint64_t FaultDisk::bytes_read() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_read_;
}

Status FaultDisk::write_at(const RelativePath& path, uint64_t offset, ByteView bytes) {
  std::optional<FaultKind> fault = write_fault(path);
  if (fault == FaultKind::kWriteError) {
    return injected(ErrorKind::kIo, "write to", path, "write error");
  }
  if (fault == FaultKind::kDiskFull) {
    return injected(ErrorKind::kDiskFull, "write to", path, "disk full");
  }
  if (fault != FaultKind::kShortWrite) return inner_.write_at(path, offset, bytes);
  size_t len = bytes.size() / 2;
  if (len > 0) KAYA_RETURN_IF_ERROR(inner_.write_at(path, offset, bytes.first(len)));
  return injected(ErrorKind::kIo, "write to", path,
                  "short write (" + std::to_string(len) + " of " +
                      std::to_string(bytes.size()) + " bytes written at offset " +
                      std::to_string(offset) + ")");
}

bool FaultDisk::can_map() const { return inner_.can_map(); }
bool FaultDisk::writes_are_durable() const { return inner_.writes_are_durable(); }

Result<std::unique_ptr<WritableMap>> FaultDisk::map_for_write(const RelativePath& path,
                                                              uint64_t offset,
                                                              uint64_t len) {
  // Allocating the space is where a real disk fails (stores into a mapping do not
  // fail; errors of their writeback surface at fsync): a short write fails it whole.
  std::optional<FaultKind> fault = write_fault(path);
  if (fault == FaultKind::kDiskFull) {
    return injected(ErrorKind::kDiskFull, "allocate space in", path, "disk full");
  }
  if (fault) return injected(ErrorKind::kIo, "allocate space in", path, "write error");
  return inner_.map_for_write(path, offset, len);
}

Result<uint64_t> FaultDisk::file_len(const RelativePath& path) {
  return inner_.file_len(path);
}

Status FaultDisk::truncate(const RelativePath& path, uint64_t len) {
  return inner_.truncate(path, len);
}

Status FaultDisk::fsync_file(const RelativePath& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fire(FaultKind::kFsyncFailure, path)) {
      return injected(ErrorKind::kFsyncFailed, "fsync of", path, "fsync failure");
    }
    ++inner_fsync_file_count_;
  }
  return inner_.fsync_file(path);
}

Status FaultDisk::fsync_dir(const RelativePath& dir) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fire(FaultKind::kFsyncFailure, dir)) {
      return injected(ErrorKind::kFsyncFailed, "fsync of directory", dir,
                      "fsync failure");
    }
    ++inner_fsync_dir_count_;
  }
  return inner_.fsync_dir(dir);
}

Result<std::vector<std::string>> FaultDisk::list_dir(const RelativePath& dir) {
  return inner_.list_dir(dir);
}

Status FaultDisk::create_dir(const RelativePath& dir) { return inner_.create_dir(dir); }

Status FaultDisk::rename(const RelativePath& from, const RelativePath& to) {
  return inner_.rename(from, to);
}

Status FaultDisk::remove_file(const RelativePath& path) {
  return inner_.remove_file(path);
}

Result<std::unique_ptr<FileLock>> FaultDisk::lock_file(const RelativePath& path) {
  return inner_.lock_file(path);
}

Result<bool> FaultDisk::lock_held(const RelativePath& path) {
  return inner_.lock_held(path);
}

Result<bool> FaultDisk::still_linked(const RelativePath& path) {
  return inner_.still_linked(path);
}

std::string FaultDisk::describe(const RelativePath& path) const {
  return inner_.describe(path);
}

}  // namespace kaya::io
