#include "appenders.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace kaya::workload {
namespace {

constexpr size_t kMaxKeyBytes = 16;

}  // namespace

PutRecords::PutRecords(uint64_t record_bytes, Keys keys)
    : record_bytes_(record_bytes),
      key_bytes_(keys == Keys::kNone
                     ? 0
                     : std::min<uint64_t>(kMaxKeyBytes, record_bytes - kMinRecordBytes)),
      value_(record_bytes - kMinRecordBytes - key_bytes_, 'v') {}

wal::Payload PutRecords::payload(int thread, uint64_t index, std::string& key) const {
  if (key_bytes_ == 0) return wal::Payload::put("", value_);
  char text[48];
  std::snprintf(text, sizeof(text), "t%04d-%010llu", thread,
                static_cast<unsigned long long>(index));
  key.assign(text, std::min(key_bytes_, std::strlen(text)));
  return wal::Payload::put(key, value_);
}

Status PutRecords::append(wal::Writer& writer, wal::DurabilityMode mode, int thread,
                          uint64_t index) const {
  std::string key;
  return writer.append(payload(thread, index, key), mode).status();
}

Result<std::unique_ptr<SharedFile>> SharedFile::create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return os_error("open", path, errno);
  return std::unique_ptr<SharedFile>(new SharedFile(path, fd));
}

SharedFile::~SharedFile() {
  ::close(fd_);
  ::unlink(path_.c_str());
}

Status SharedFile::append(std::span<const uint8_t> record, bool sync) {
  const uint64_t at = offset_.fetch_add(record.size(), std::memory_order_relaxed);
  KAYA_RETURN_IF_ERROR(pwrite_all(fd_, record, at, path_));
  if (sync && ::fdatasync(fd_) != 0) return os_error("fdatasync", path_, errno);
  return ok_status();
}

Status pwrite_all(int fd, std::span<const uint8_t> data, uint64_t offset,
                  const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return os_error("pwrite", path, n < 0 ? errno : EIO);
    data = data.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return ok_status();
}

Error os_error(std::string_view what, const std::string& path, int err) {
  const ErrorKind kind = err == ENOSPC || err == EDQUOT ? ErrorKind::kDiskFull
                         : err == ENOENT                ? ErrorKind::kNotFound
                                                        : ErrorKind::kIo;
  return Error(kind, std::string(what) + " " + path + ": " + std::strerror(err));
}

}  // namespace kaya::workload
