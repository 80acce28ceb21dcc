#include "kaya/io/file_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string_view>
#include <system_error>
#include <vector>

namespace kaya::io {
namespace {

ErrorKind kind_for_errno(int err) {
  switch (err) {
    case ENOENT:
      return ErrorKind::kNotFound;
    case ENOSPC:
    case EDQUOT:
      return ErrorKind::kDiskFull;
    default:
      return ErrorKind::kIo;
  }
}

// "<op> <path> failed: <strerror>" (plus a hint when the disk is full).
Error os_error(ErrorKind kind, std::string_view op, const std::string& path, int err) {
  std::string message =
      std::string(op) + " " + path + " failed: " + std::system_category().message(err);
  if (kind == ErrorKind::kDiskFull) message += " (free some space, then reopen the log)";
  return Error(kind, std::move(message));
}

Error os_error(std::string_view op, const std::string& path, int err) {
  return os_error(kind_for_errno(err), op, path, err);
}

// One open descriptor per file. Shared by the in-flight operations that use it, so a
// remove_file()/rename() that drops it from the map never closes it under a reader.
struct OpenFile {
  ~OpenFile() { ::close(fd); }
  int fd = -1;
  // Opened O_RDONLY because the file is not writable; writes reopen it.
  bool writable = true;
  // Guards end_bytes and orders appends, write_at and truncate on this file. Never
  // held across fdatasync, so a sync does not stall appends to the same file.
  std::mutex append_mu;
  bool end_known = false;
  uint64_t end_bytes = 0;
};

class FdLock final : public FileLock {
 public:
  explicit FdLock(int fd) : fd_(fd) {}
  ~FdLock() override { ::close(fd_); }  // closing the description releases flock

 private:
  int fd_;
};

enum class Access { kRead, kWrite, kCreate };

// Whether /proc/locks (text `locks`) lists a held flock on the file with device
// `dev_major`:`dev_minor` and inode `ino`. A line reads "1: FLOCK  ADVISORY  WRITE 42
// fe:00:5309547 0 EOF"; a waiter's line has "->" after the number and holds nothing.
bool flock_listed(std::string_view locks, unsigned dev_major, unsigned dev_minor,
                  uint64_t ino) {
  while (!locks.empty()) {
    const size_t eol = locks.find('\n');
    std::string_view line = locks.substr(0, eol);
    locks = eol == std::string_view::npos ? std::string_view() : locks.substr(eol + 1);
    if (line.find(" FLOCK ") == std::string_view::npos ||
        line.find("->") != std::string_view::npos) {
      continue;
    }
    // The sixth field: major:minor:inode (major and minor in hex).
    std::vector<std::string_view> fields;
    while (!line.empty() && fields.size() < 6) {
      const size_t start = line.find_first_not_of(' ');
      if (start == std::string_view::npos) break;
      line.remove_prefix(start);
      const size_t end = line.find(' ');
      fields.push_back(line.substr(0, end));
      line = end == std::string_view::npos ? std::string_view() : line.substr(end);
    }
    if (fields.size() < 6) continue;
    unsigned maj = 0, min = 0;
    unsigned long long node = 0;
    const std::string id(fields[5]);
    if (std::sscanf(id.c_str(), "%x:%x:%llu", &maj, &min, &node) == 3 &&
        maj == dev_major && min == dev_minor && node == ino) {
      return true;
    }
  }
  return false;
}

}  // namespace

struct FileDisk::Impl {
  std::string root;
  std::mutex files_mu;
  std::map<std::string, std::shared_ptr<OpenFile>> files;  // by relative path
  // Bumped when paths are unlinked or renamed, so an open() that raced with it is
  // retried instead of caching a descriptor of a file that has left its path.
  uint64_t names_epoch = 0;

  std::string full(const RelativePath& path) const {
    if (path.is_root()) return root;
    return root == "/" ? root + path.str() : root + "/" + path.str();
  }

  Result<std::shared_ptr<OpenFile>> get(const RelativePath& path, Access access);
  void forget(const RelativePath& path);
  static Status refresh_end(OpenFile& file, const std::string& full_path);
};

Result<std::shared_ptr<OpenFile>> FileDisk::Impl::get(const RelativePath& path,
                                                      Access access) {
  const std::string full_path = full(path);
  for (;;) {
    uint64_t epoch;
    {
      std::lock_guard<std::mutex> lock(files_mu);
      auto it = files.find(path.str());
      if (it != files.end() && (access == Access::kRead || it->second->writable)) {
        return it->second;
      }
      epoch = names_epoch;
    }
    // open() happens outside files_mu: it can be slow and must not stall other files.
    int flags = O_RDWR | O_CLOEXEC | (access == Access::kCreate ? O_CREAT : 0);
    bool writable = true;
    int fd;
    do fd = ::open(full_path.c_str(), flags, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0 && access == Access::kRead && (errno == EACCES || errno == EROFS)) {
      writable = false;
      do fd = ::open(full_path.c_str(), O_RDONLY | O_CLOEXEC);
      while (fd < 0 && errno == EINTR);
    }
    if (fd < 0) return os_error("open", full_path, errno);
    auto file = std::make_shared<OpenFile>();
    file->fd = fd;
    file->writable = writable;

    std::lock_guard<std::mutex> lock(files_mu);
    if (names_epoch != epoch) continue;  // the path may name another file now
    auto& slot = files[path.str()];
    if (slot == nullptr || (!slot->writable && writable)) slot = file;
    return slot;  // when another thread won the race, our descriptor closes here
  }
}

void FileDisk::Impl::forget(const RelativePath& path) {
  std::lock_guard<std::mutex> lock(files_mu);
  files.erase(path.str());
  ++names_epoch;
}

Status FileDisk::Impl::refresh_end(OpenFile& file, const std::string& full_path) {
  struct stat st;
  if (::fstat(file.fd, &st) != 0) {
    file.end_known = false;
    return os_error("stat", full_path, errno);
  }
  file.end_bytes = static_cast<uint64_t>(st.st_size);
  file.end_known = true;
  return ok_status();
}

FileDisk::FileDisk(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileDisk::~FileDisk() = default;

Result<std::unique_ptr<FileDisk>> FileDisk::open(const std::string& root, bool create) {
  std::string normalised = root;
  while (normalised.size() > 1 && normalised.back() == '/') normalised.pop_back();
  if (normalised.empty()) {
    return Error(ErrorKind::kInvalidArgument,
                 "the disk root directory must not be empty");
  }
  if (create) {
    std::error_code ec;
    std::filesystem::create_directories(normalised, ec);
    if (ec) return os_error("create directory", normalised, ec.value());
  }
  struct stat st;
  if (::stat(normalised.c_str(), &st) != 0) {
    return os_error("open disk root", normalised, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Error(ErrorKind::kIo, "disk root " + normalised + " is not a directory");
  }
  auto impl = std::make_unique<Impl>();
  impl->root = std::move(normalised);
  return std::unique_ptr<FileDisk>(new FileDisk(std::move(impl)));
}

const std::string& FileDisk::root() const { return impl_->root; }

std::string FileDisk::describe(const RelativePath& path) const {
  return impl_->full(path);
}

Result<uint64_t> FileDisk::append(const RelativePath& path,
                                  std::span<const ByteView> parts) {
  const std::string full_path = impl_->full(path);
  KAYA_ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> file,
                        impl_->get(path, Access::kCreate));
  std::vector<iovec> iov;
  iov.reserve(parts.size());
  for (ByteView part : parts) {
    if (part.empty()) continue;
    iov.push_back({const_cast<uint8_t*>(part.data()), part.size()});
  }

  std::lock_guard<std::mutex> lock(file->append_mu);
  if (!file->end_known) KAYA_RETURN_IF_ERROR(Impl::refresh_end(*file, full_path));
  const uint64_t start = file->end_bytes;
  uint64_t pos = start;
  size_t first = 0;  // iov[first..] is still to be written
  while (first < iov.size()) {
    int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = ::pwritev(file->fd, &iov[first], count, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;  // 0 bytes for a non-empty write: no progress
      // A prefix may have landed: the next append must start after it, not over it.
      (void)Impl::refresh_end(*file, full_path);
      return os_error("append to", full_path, err);
    }
    pos += static_cast<uint64_t>(n);
    size_t done = static_cast<size_t>(n);
    while (first < iov.size() && done >= iov[first].iov_len) done -= iov[first++].iov_len;
    if (done > 0) {
      iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + done;
      iov[first].iov_len -= done;
    }
  }
  file->end_bytes = pos;
  return start;
}

Result<size_t> FileDisk::read_at(const RelativePath& path, uint64_t offset,
                                 std::span<uint8_t> out) {
  KAYA_ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> file, impl_->get(path, Access::kRead));
  for (;;) {
    ssize_t n = ::pread(file->fd, out.data(), out.size(), static_cast<off_t>(offset));
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) {
      return os_error("read at offset " + std::to_string(offset) + " from",
                      impl_->full(path), errno);
    }
  }
}

Status FileDisk::write_at(const RelativePath& path, uint64_t offset, ByteView bytes) {
  const std::string full_path = impl_->full(path);
  KAYA_ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> file, impl_->get(path, Access::kWrite));
  std::lock_guard<std::mutex> lock(file->append_mu);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(file->fd, bytes.data() + done, bytes.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      (void)Impl::refresh_end(*file, full_path);
      return os_error("write at offset " + std::to_string(offset) + " to", full_path,
                      err);
    }
    done += static_cast<size_t>(n);
  }
  if (file->end_known) file->end_bytes = std::max(file->end_bytes, offset + done);
  return ok_status();
}

Result<uint64_t> FileDisk::file_len(const RelativePath& path) {
  const std::string full_path = impl_->full(path);
  struct stat st;
  if (::stat(full_path.c_str(), &st) != 0) return os_error("stat", full_path, errno);
  if (!S_ISREG(st.st_mode)) return Error(ErrorKind::kIo, full_path + " is not a file");
  return static_cast<uint64_t>(st.st_size);
}

Status FileDisk::truncate(const RelativePath& path, uint64_t len) {
  const std::string full_path = impl_->full(path);
  KAYA_ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> file, impl_->get(path, Access::kWrite));
  std::lock_guard<std::mutex> lock(file->append_mu);
  int rc;
  do rc = ::ftruncate(file->fd, static_cast<off_t>(len));
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    (void)Impl::refresh_end(*file, full_path);
    return os_error("truncate to " + std::to_string(len) + " bytes", full_path, err);
  }
  file->end_bytes = len;
  file->end_known = true;
  return ok_status();
}

namespace {

class FileMap final : public WritableMap {
 public:
  FileMap(uint64_t offset, std::span<uint8_t> data, void* base, size_t mapped)
      : WritableMap(offset, data), base_(base), mapped_(mapped) {}
  ~FileMap() override { ::munmap(base_, mapped_); }
  Status publish(uint64_t, uint64_t) override { return ok_status(); }
  void prefault(uint64_t begin, uint64_t end) override {
#ifdef MADV_POPULATE_WRITE
    // Page-aligned within the mapping; an error (an older kernel: EINVAL) only means
    // the stores take their page faults one by one.
    static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto first = reinterpret_cast<uintptr_t>(data().data() + begin) / page * page;
    const auto last = reinterpret_cast<uintptr_t>(data().data() + end);
    if (last > first) {
      (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
    }
#else
    (void)begin;
    (void)end;
#endif
  }

 private:
  void* base_;
  size_t mapped_;
};

}  // namespace

Result<std::unique_ptr<WritableMap>> FileDisk::map_for_write(const RelativePath& path,
                                                             uint64_t offset,
                                                             uint64_t len) {
  const std::string full_path = impl_->full(path);
  KAYA_ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> file, impl_->get(path, Access::kWrite));
  const std::string where =
      " [" + std::to_string(offset) + ", " + std::to_string(offset + len) + ") of";
  {
    std::lock_guard<std::mutex> lock(file->append_mu);
    int rc;
    do
      rc = ::posix_fallocate(file->fd, static_cast<off_t>(offset),
                             static_cast<off_t>(len));
    while (rc == EINTR);
    if (rc != 0) {
      (void)Impl::refresh_end(*file, full_path);
      return os_error("allocate" + where, full_path, rc);
    }
    if (file->end_known) file->end_bytes = std::max(file->end_bytes, offset + len);
  }
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t start = offset / page * page;
  const size_t mapped = static_cast<size_t>(offset + len - start);
  void* base = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, file->fd,
                      static_cast<off_t>(start));
  if (base == MAP_FAILED) return os_error("map" + where, full_path, errno);
  std::span<uint8_t> data(static_cast<uint8_t*>(base) + (offset - start), len);
  return std::unique_ptr<WritableMap>(new FileMap(offset, data, base, mapped));
}

Status FileDisk::fsync_file(const RelativePath& path) {
  KAYA_ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> file, impl_->get(path, Access::kRead));
  // No lock: appends keep going while the sync runs. Never retried, even on EINTR:
  // after a failed fsync the kernel may have dropped the dirty pages.
  if (::fdatasync(file->fd) != 0) {
    return os_error(ErrorKind::kFsyncFailed, "fdatasync", impl_->full(path), errno);
  }
  return ok_status();
}

Status FileDisk::fsync_dir(const RelativePath& dir) {
  const std::string full_path = impl_->full(dir);
  int fd;
  do fd = ::open(full_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return os_error("open directory", full_path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return os_error(ErrorKind::kFsyncFailed, "fsync directory", full_path, err);
  return ok_status();
}

Result<std::vector<std::string>> FileDisk::list_dir(const RelativePath& dir) {
  const std::string full_path = impl_->full(dir);
  DIR* d = ::opendir(full_path.c_str());
  if (d == nullptr) return os_error("list directory", full_path, errno);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    dirent* entry = ::readdir(d);
    if (entry == nullptr) break;
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return os_error("list directory", full_path, err);
  std::sort(names.begin(), names.end());
  return names;
}

Status FileDisk::create_dir(const RelativePath& dir) {
  const std::string full_path = impl_->full(dir);
  if (::mkdir(full_path.c_str(), 0755) == 0) return ok_status();
  int err = errno;
  struct stat st;
  if (err == EEXIST && ::stat(full_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return ok_status();
  }
  return os_error("create directory", full_path, err);
}

Status FileDisk::rename(const RelativePath& from, const RelativePath& to) {
  const std::string from_path = impl_->full(from);
  const std::string to_path = impl_->full(to);
  if (::rename(from_path.c_str(), to_path.c_str()) != 0) {
    return os_error("rename " + from_path + " to", to_path, errno);
  }
  // Both names now denote other files (or none): drop their cached descriptors.
  impl_->forget(from);
  impl_->forget(to);
  return ok_status();
}

Status FileDisk::remove_file(const RelativePath& path) {
  const std::string full_path = impl_->full(path);
  if (::unlink(full_path.c_str()) != 0) return os_error("remove", full_path, errno);
  impl_->forget(path);
  return ok_status();
}

// Linux lists every flock in /proc/locks by device and inode: reading it answers
// without taking the lock, which a writer opening at that instant would meet.
Result<bool> FileDisk::lock_held(const RelativePath& path) {
  const std::string full_path = impl_->full(path);
  struct stat st;
  if (::stat(full_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return os_error("stat lock file", full_path, errno);
  }
  int fd;
  do fd = ::open("/proc/locks", O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return os_error("open", "/proc/locks", errno);
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return os_error("read", "/proc/locks", err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return flock_listed(text, major(st.st_dev), minor(st.st_dev),
                      static_cast<uint64_t>(st.st_ino));
}

Result<std::unique_ptr<FileLock>> FileDisk::lock_file(const RelativePath& path) {
  const std::string full_path = impl_->full(path);
  int fd;
  do fd = ::open(full_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return os_error("open lock file", full_path, errno);
  int rc;
  do rc = ::flock(fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Error(ErrorKind::kLockConflict,
                   "lock file " + full_path +
                       " is held: another writer holds the log (only one process may "
                       "write a log at a time)");
    }
    return os_error("lock", full_path, err);
  }
  return std::unique_ptr<FileLock>(new FdLock(fd));
}

}  // namespace kaya::io
