#include "io/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "io/posix_error.h"

namespace kaya::io {
namespace {

// Holds the flocks: closing the descriptions releases them.
class FlockHold final : public FileLock {
 public:
  FlockHold(int dir_fd, int file_fd) : dir_fd_(dir_fd), file_fd_(file_fd) {}
  ~FlockHold() override {
    ::close(file_fd_);
    if (dir_fd_ >= 0) ::close(dir_fd_);
  }

 private:
  int dir_fd_;  // -1 where the file system cannot lock a directory
  int file_fd_;
};

Error conflict(const std::string& what) {
  return Error(ErrorKind::kLockConflict,
               what +
                   " is held by another process (an exclusive lock has one holder at a "
                   "time)");
}

// LOCK_EX | LOCK_NB; errno is kept for the caller.
int flock_exclusive(int fd) {
  int rc;
  do rc = ::flock(fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  return rc;
}

int open_retrying(const std::string& path, int flags) {
  int fd;
  do fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  return fd;
}

// The directory's descriptor, locked; -1 when its file system cannot lock a directory
// (the NFS client takes flock as a write lock, which a read-only descriptor, the only
// kind a directory has, cannot hold: EBADF).
Result<int> lock_dir(const std::string& dir, const std::string& path) {
  const int fd = open_retrying(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return path_error("open directory", dir, errno);
  if (flock_exclusive(fd) == 0) return fd;
  const int err = errno;
  ::close(fd);
  if (err == EWOULDBLOCK)
    return conflict("the lock on directory " + dir + " (lock file " + path + ")");
  if (err == EBADF || err == EOPNOTSUPP) return -1;
  return os_error("lock directory", dir, err);
}

Error symlink_refused(const std::string& path) {
  std::string target(4096, '\0');
  const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
  target = n > 0 ? target.substr(0, static_cast<size_t>(n)) : "?";
  return Error(ErrorKind::kIo, "lock file " + path + " is a symbolic link (to " + target +
                                   "); kaya locks a regular file there and follows no "
                                   "link: remove the link, then retry");
}

Result<int> lock_path(const std::string& path) {
  // O_RDWR: the NFS client needs a writable descriptor for an exclusive flock.
  const int fd = open_retrying(path, O_RDWR | O_CREAT | O_NOFOLLOW);
  if (fd < 0) {
    const int err = errno;
    struct stat st;
    if (err == ELOOP && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return symlink_refused(path);
    }
    return os_error("open lock file", path, err);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error(ErrorKind::kIo, "lock file " + path + " is not a regular file");
  }
  if (flock_exclusive(fd) == 0) return fd;
  const int err = errno;
  ::close(fd);
  if (err == EWOULDBLOCK) return conflict("lock file " + path);
  return os_error("lock", path, err);
}

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

Result<std::string> read_proc_locks() {
  const int fd = open_retrying("/proc/locks", O_RDONLY);
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
  return text;
}

}  // namespace

Result<std::unique_ptr<FileLock>> lock_file_and_dir(const std::string& dir,
                                                    const std::string& path) {
  KAYA_ASSIGN_OR_RETURN(const int dir_fd, lock_dir(dir, path));
  Result<int> file_fd = lock_path(path);
  if (!file_fd.ok()) {
    if (dir_fd >= 0) ::close(dir_fd);
    return file_fd.error();
  }
  return std::unique_ptr<FileLock>(new FlockHold(dir_fd, *file_fd));
}

// Linux lists every flock in /proc/locks by device and inode: reading it answers
// without taking the lock, which a writer opening at that instant would meet.
Result<bool> file_or_dir_locked(const std::string& dir, const std::string& path) {
  struct stat file_st, dir_st;
  bool have_file = true;
  if (::stat(path.c_str(), &file_st) != 0) {
    if (errno != ENOENT) return os_error("stat lock file", path, errno);
    have_file = false;
  }
  if (::stat(dir.c_str(), &dir_st) != 0) {
    if (errno == ENOENT) return false;
    return os_error("stat directory", dir, errno);
  }
  KAYA_ASSIGN_OR_RETURN(const std::string locks, read_proc_locks());
  if (have_file && flock_listed(locks, major(file_st.st_dev), minor(file_st.st_dev),
                                static_cast<uint64_t>(file_st.st_ino))) {
    return true;
  }
  return flock_listed(locks, major(dir_st.st_dev), minor(dir_st.st_dev),
                      static_cast<uint64_t>(dir_st.st_ino));
}

}  // namespace kaya::io
