#include "testing/proc_fds.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace kaya::testing {

std::map<int, std::string> open_fds() {
  std::map<int, std::string> out;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return out;
  const int own = ::dirfd(dir);
  while (dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    const int fd = std::atoi(name.c_str());
    if (fd == own) continue;
    char target[4096];
    const ssize_t n =
        ::readlink(("/proc/self/fd/" + name).c_str(), target, sizeof(target) - 1);
    out[fd] = n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
  }
  ::closedir(dir);
  return out;
}

size_t open_fd_count() { return open_fds().size(); }

size_t fds_open_on(const std::string& path) {
  size_t count = 0;
  for (const auto& [fd, target] : open_fds()) count += target == path ? 1 : 0;
  return count;
}

int fd_access_mode(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags:", 0) != 0) continue;
    // "flags:\t0100002": octal open flags.
    const long flags = std::strtol(line.c_str() + 6, nullptr, 8);
    return static_cast<int>(flags) & O_ACCMODE;
  }
  return -1;
}

FileLimit::FileLimit(rlim_t soft) {
  ok_ = ::getrlimit(RLIMIT_NOFILE, &saved_) == 0;
  rlimit lowered = saved_;
  lowered.rlim_cur = soft;
  ok_ = ok_ && ::setrlimit(RLIMIT_NOFILE, &lowered) == 0;
}

FileLimit::~FileLimit() {
  if (ok_) (void)::setrlimit(RLIMIT_NOFILE, &saved_);
}

std::string run_unprivileged(const std::function<std::string()>& body) {
  if (::geteuid() != 0) return body();
  int out[2];
  if (::pipe(out) != 0) return "pipe failed";
  const pid_t child = ::fork();
  if (child < 0) return "fork failed";
  if (child == 0) {
    ::close(out[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(1);
    const std::string text = body();
    const bool written =
        ::write(out[1], text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::_exit(written ? 0 : 1);
  }
  ::close(out[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) {
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return "the unprivileged child failed: " + text;
  }
  return text;
}

}  // namespace kaya::testing
