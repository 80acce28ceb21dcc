#include "testing/proc_fds.h"

#include <dirent.h>
#include <fcntl.h>
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

}  // namespace kaya::testing
