// This process's open descriptors, as Linux lists them in /proc/self/fd, its limit of
// open files, and its privileges: for tests that check how many files a Disk keeps
// open, how it opened them and what it reports when the system refuses.
#pragma once

#include <sys/resource.h>

#include <cstddef>
#include <functional>
#include <map>
#include <string>

namespace kaya::testing {

// How many descriptors the process has open (0 when /proc/self/fd is unreadable).
size_t open_fd_count();

// Descriptor -> the path it refers to (readlink of /proc/self/fd/N: the file's current
// name, with " (deleted)" after it once unlinked).
std::map<int, std::string> open_fds();

// How many open descriptors refer to `path`.
size_t fds_open_on(const std::string& path);

// The access mode (O_RDONLY, O_WRONLY or O_RDWR) descriptor `fd` was opened with, from
// /proc/self/fdinfo; -1 when it cannot be read.
int fd_access_mode(int fd);

// Lowers this process's soft limit of open files (RLIMIT_NOFILE) for the scope; child
// processes started meanwhile inherit it.
class FileLimit {
 public:
  explicit FileLimit(rlim_t soft);
  ~FileLimit();
  FileLimit(const FileLimit&) = delete;
  FileLimit& operator=(const FileLimit&) = delete;
  // Whether the limit was lowered.
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

// Runs `body` without the privilege to bypass file permissions and returns what it
// returned: in a child process as user nobody when this process runs as root, else
// right here. A child that cannot drop its privileges or report returns a text saying
// so.
std::string run_unprivileged(const std::function<std::string()>& body);

}  // namespace kaya::testing
