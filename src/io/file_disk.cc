#include "kaya/io/file_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/guard.h"
#include "io/file_lock.h"
#include "io/file_table.h"
#include "io/posix_error.h"

namespace kaya::io {

struct FileDisk::Impl {
  std::string root;
  size_t max_open_files = 0;
  std::shared_ptr<FileTable> files;  // shared with the maps, which may outlive the disk

  std::string full(const RelativePath& path) const {
    if (path.is_root()) return root;
    return root == "/" ? root + path.str() : root + "/" + path.str();
  }

  Result<FileRef> get(const RelativePath& path, Access access) {
    return files->get(
        path.str(), [&] { return full(path); }, access);
  }
  // A directory's descriptor, or -1 with errno set. Out of descriptors, it closes the
  // cached ones it may and tries again: the cache must not starve fsync_dir().
  int open_dir(const std::string& full_path) {
    for (int attempt = 0;; ++attempt) {
      int fd;
      do fd = ::open(full_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      while (fd < 0 && errno == EINTR);
      if (fd >= 0 || attempt > 0 || !out_of_descriptors(errno)) return fd;
      files->shed();
    }
  }
  static Status refresh_end(OpenFile& file, const std::string& full_path)
      KAYA_REQUIRES(file.append_mu);
};

Status FileDisk::Impl::refresh_end(OpenFile& file, const std::string& full_path) {
  struct stat st;
  if (::fstat(file.fd(), &st) != 0) {
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
  FileDiskOptions options;
  options.create = create;
  return open(root, options);
}

Result<std::unique_ptr<FileDisk>> FileDisk::open(const std::string& root,
                                                 const FileDiskOptions& options) {
  if (options.max_open_files == 0) {
    return Error(ErrorKind::kInvalidArgument,
                 "FileDiskOptions::max_open_files must be at least 1");
  }
  std::string normalised = root;
  while (normalised.size() > 1 && normalised.back() == '/') normalised.pop_back();
  if (normalised.empty()) {
    return Error(ErrorKind::kInvalidArgument,
                 "the disk root directory must not be empty");
  }
  if (options.create) {
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
  // At most a quarter of what the process may open, so that the cache leaves room for
  // the rest of the process (and for this disk's own directory descriptors).
  impl->max_open_files = options.max_open_files;
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    impl->max_open_files = std::min<uint64_t>(impl->max_open_files,
                                              std::max<uint64_t>(1, limit.rlim_cur / 4));
  }
  impl->files = std::make_shared<FileTable>(impl->max_open_files);
  return std::unique_ptr<FileDisk>(new FileDisk(std::move(impl)));
}

const std::string& FileDisk::root() const { return impl_->root; }

size_t FileDisk::max_open_files() const { return impl_->max_open_files; }

std::string FileDisk::describe(const RelativePath& path) const {
  return impl_->full(path);
}

Result<uint64_t> FileDisk::append(const RelativePath& path,
                                  std::span<const ByteView> parts) {
  KAYA_ASSIGN_OR_RETURN(FileRef ref, impl_->get(path, Access::kCreate));
  OpenFile& file = ref.file();
  std::vector<iovec> iov;
  iov.reserve(parts.size());
  for (ByteView part : parts) {
    if (part.empty()) continue;
    iov.push_back({const_cast<uint8_t*>(part.data()), part.size()});
  }

  core::MutexLock lock(file.append_mu);
  if (!file.end_known) KAYA_RETURN_IF_ERROR(Impl::refresh_end(file, impl_->full(path)));
  const uint64_t start = file.end_bytes;
  uint64_t pos = start;
  size_t first = 0;  // iov[first..] is still to be written
  while (first < iov.size()) {
    int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = ::pwritev(file.fd(), &iov[first], count, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;  // 0 bytes for a non-empty write: no progress
      // A prefix may have landed: the next append must start after it, not over it.
      const std::string full_path = impl_->full(path);
      (void)Impl::refresh_end(file, full_path);
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
  file.end_bytes = pos;
  return start;
}

Result<size_t> FileDisk::read_at(const RelativePath& path, uint64_t offset,
                                 std::span<uint8_t> out) {
  KAYA_ASSIGN_OR_RETURN(FileRef ref, impl_->get(path, Access::kRead));
  OpenFile& file = ref.file();
  for (;;) {
    ssize_t n = ::pread(file.fd(), out.data(), out.size(), static_cast<off_t>(offset));
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) {
      return os_error("read at offset " + std::to_string(offset) + " from",
                      impl_->full(path), errno);
    }
  }
}

Status FileDisk::write_at(const RelativePath& path, uint64_t offset, ByteView bytes) {
  KAYA_ASSIGN_OR_RETURN(FileRef ref, impl_->get(path, Access::kWrite));
  OpenFile& file = ref.file();
  // The pwrite runs without append_mu: writes at distinct offsets of one file go on in
  // parallel (the writer's relaxed appenders each write their own record). Only the
  // known end is updated under it.
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(file.fd(), bytes.data() + done, bytes.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      const std::string full_path = impl_->full(path);
      core::MutexLock lock(file.append_mu);
      (void)Impl::refresh_end(file, full_path);
      return os_error("write at offset " + std::to_string(offset) + " to", full_path,
                      err);
    }
    done += static_cast<size_t>(n);
  }
  core::MutexLock lock(file.append_mu);
  if (file.end_known) file.end_bytes = std::max(file.end_bytes, offset + done);
  return ok_status();
}

Result<uint64_t> FileDisk::file_len(const RelativePath& path) {
  const std::string full_path = impl_->full(path);
  struct stat st;
  if (::stat(full_path.c_str(), &st) != 0) return path_error("stat", full_path, errno);
  if (!S_ISREG(st.st_mode)) return Error(ErrorKind::kIo, full_path + " is not a file");
  return static_cast<uint64_t>(st.st_size);
}

Status FileDisk::truncate(const RelativePath& path, uint64_t len) {
  const std::string full_path = impl_->full(path);
  KAYA_ASSIGN_OR_RETURN(FileRef ref, impl_->get(path, Access::kWrite));
  OpenFile& file = ref.file();
  core::MutexLock lock(file.append_mu);
  int rc;
  do rc = ::ftruncate(file.fd(), static_cast<off_t>(len));
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    (void)Impl::refresh_end(file, full_path);
    return os_error("truncate to " + std::to_string(len) + " bytes", full_path, err);
  }
  file.end_bytes = len;
  file.end_known = true;
  return ok_status();
}

namespace {

// Holds the descriptor it maps: stores through the map are writes, and the descriptor
// must stay open until an fdatasync after the last of them (see FileTable). The
// mapping itself would outlive a close (the kernel keeps the file it maps).
class FileMap final : public WritableMap {
 public:
  FileMap(uint64_t offset, std::span<uint8_t> data, void* base, size_t mapped,
          FileRef file)
      : WritableMap(offset, data), base_(base), mapped_(mapped), file_(std::move(file)) {}
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
  FileRef file_;  // released after the unmap: the stores end there
};

}  // namespace

Result<std::unique_ptr<WritableMap>> FileDisk::map_for_write(const RelativePath& path,
                                                             uint64_t offset,
                                                             uint64_t len) {
  const std::string full_path = impl_->full(path);
  KAYA_ASSIGN_OR_RETURN(FileRef ref, impl_->get(path, Access::kWrite));
  OpenFile& file = ref.file();
  const std::string where =
      " [" + std::to_string(offset) + ", " + std::to_string(offset + len) + ") of";
  {
    core::MutexLock lock(file.append_mu);
    int rc;
    do
      rc = ::posix_fallocate(file.fd(), static_cast<off_t>(offset),
                             static_cast<off_t>(len));
    while (rc == EINTR);
    if (rc != 0) {
      (void)Impl::refresh_end(file, full_path);
      return os_error("allocate" + where, full_path, rc);
    }
    if (file.end_known) file.end_bytes = std::max(file.end_bytes, offset + len);
  }
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t start = offset / page * page;
  const size_t mapped = static_cast<size_t>(offset + len - start);
  void* base = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd(),
                      static_cast<off_t>(start));
  if (base == MAP_FAILED) {
    const int err = errno;
    // Out of address space (ulimit -v) or of mappings: memory, not the file, is short.
    if (err == ENOMEM) {
      return core::out_of_memory_while([&] {
        return "mapping" + where + " " + full_path +
               " (mmap: " + std::system_category().message(err) + ")";
      });
    }
    return os_error("map" + where, full_path, err);
  }
  std::span<uint8_t> data(static_cast<uint8_t*>(base) + (offset - start), len);
  return std::unique_ptr<WritableMap>(
      new FileMap(offset, data, base, mapped, std::move(ref)));
}

Status FileDisk::fsync_file(const RelativePath& path) {
  // The descriptor the file's unsynced writes went through, if any: only it is sure
  // to see their writeback errors.
  KAYA_ASSIGN_OR_RETURN(FileRef ref, impl_->get(path, Access::kSync));
  const uint64_t covered = impl_->files->begin_sync(ref);
  // No lock: appends keep going while the sync runs. Never retried, even on EINTR:
  // after a failed fsync the kernel may have dropped the dirty pages.
  if (::fdatasync(ref.fd()) != 0) {
    return os_error(ErrorKind::kFsyncFailed, "fdatasync", impl_->full(path), errno);
  }
  impl_->files->synced(ref, covered);
  return ok_status();
}

Status FileDisk::fsync_dir(const RelativePath& dir) {
  const std::string full_path = impl_->full(dir);
  const int fd = impl_->open_dir(full_path);
  if (fd < 0) return path_error("open directory", full_path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return os_error(ErrorKind::kFsyncFailed, "fsync directory", full_path, err);
  return ok_status();
}

Result<std::vector<std::string>> FileDisk::list_dir(const RelativePath& dir) {
  const std::string full_path = impl_->full(dir);
  const int fd = impl_->open_dir(full_path);
  if (fd < 0) return path_error("list directory", full_path, errno);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    const int err = errno;
    ::close(fd);
    return os_error("list directory", full_path, err);
  }
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
  const int err = errno;
  if (err != EEXIST) return path_error("create directory", full_path, err);
  // Something is there: say what it is when it is not a directory (a symbolic link
  // loop: ELOOP, a dangling link, a file), never just "File exists".
  struct stat st;
  if (::stat(full_path.c_str(), &st) != 0) {
    return path_error("create directory", full_path, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Error(ErrorKind::kIo, "create directory " + full_path +
                                     " failed: it exists and is not a directory");
  }
  return ok_status();
}

Status FileDisk::rename(const RelativePath& from, const RelativePath& to) {
  const std::string from_path = impl_->full(from);
  const std::string to_path = impl_->full(to);
  if (::rename(from_path.c_str(), to_path.c_str()) != 0) {
    return os_error("rename " + from_path + " to", to_path, errno);
  }
  impl_->files->renamed(from.str(), to.str(), to_path);
  return ok_status();
}

Status FileDisk::remove_file(const RelativePath& path) {
  const std::string full_path = impl_->full(path);
  if (::unlink(full_path.c_str()) != 0) return os_error("remove", full_path, errno);
  impl_->files->forget(path.str());
  return ok_status();
}

Result<bool> FileDisk::still_linked(const RelativePath& path) {
  // An unlinked file keeps taking writes through an open descriptor, and fdatasync
  // succeeds on it, so only its link count tells. Asked of the descriptor the writes
  // went through while the cache holds it (it names the file written even when a new
  // file took the name), else of the path; never opens a descriptor, so the check
  // cannot push the cache past its bound or evict one.
  //
  // statx asking for the link count alone, not fstat: on kernels with multigrain
  // timestamps (6.13 and later) a query of the ctime makes the next write update it
  // finely, which dirties the inode and cost every following fdatasync about 50 us
  // (ext4, 128-byte strict appends: 30% of the commit). Asked for no timestamp, statx
  // leaves that alone.
  // (The writer asks after every sync round: no path string unless it is needed.)
  struct statx st;
  if (std::optional<FileRef> ref = impl_->files->cached(path.str())) {
    if (::statx(ref->fd(), "", AT_EMPTY_PATH, STATX_NLINK, &st) != 0) {
      const int err = errno;
      return os_error("stat", impl_->full(path), err);
    }
    return st.stx_nlink > 0;
  }
  const std::string full_path = impl_->full(path);
  if (::statx(AT_FDCWD, full_path.c_str(), 0, STATX_NLINK, &st) != 0) {
    if (errno == ENOENT) return false;
    return os_error("stat", full_path, errno);
  }
  return st.stx_nlink > 0;
}

Result<bool> FileDisk::lock_held(const RelativePath& path) {
  return file_or_dir_locked(impl_->full(path.parent()), impl_->full(path));
}

Result<std::unique_ptr<FileLock>> FileDisk::lock_file(const RelativePath& path) {
  return lock_file_and_dir(impl_->full(path.parent()), impl_->full(path));
}

}  // namespace kaya::io
