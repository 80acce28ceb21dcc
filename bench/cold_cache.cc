#include "cold_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "bench_util.h"

namespace kaya::bench {
namespace {

constexpr const char* kDropCaches = "/proc/sys/vm/drop_caches";

[[noreturn]] void die_errno(const std::string& what, const std::string& path) {
  die(what + " " + path + ": " + std::strerror(errno));
}

void evict_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die_errno("open", path);
  // Dirty pages are not dropped: write them back first.
  if (::fdatasync(fd) != 0) die_errno("fdatasync", path);
  const int err = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (err != 0) {
    errno = err;
    die_errno("posix_fadvise(DONTNEED)", path);
  }
  ::close(fd);
}

bool write_drop_caches() {
  const int fd = ::open(kDropCaches, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, "1\n", 2) == 2;
  ::close(fd);
  return ok;
}

}  // namespace

Eviction evict_page_cache(const std::string& dir, bool drop_caches) {
  Eviction e;
  namespace fs = std::filesystem;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    evict_file(entry.path().string());
    e.files++;
  }
  if (drop_caches && drop_caches_available()) e.drop_caches = write_drop_caches();
  return e;
}

bool drop_caches_available() {
  return ::geteuid() == 0 && ::access(kDropCaches, W_OK) == 0;
}

std::string describe_eviction(bool drop_caches) {
  std::string s =
      "before each measured call, fdatasync + posix_fadvise(POSIX_FADV_DONTNEED) of "
      "every file under the log's wal/";
  if (!drop_caches)
    return s + " (echo 1 > " + kDropCaches + " not used: --no-drop-caches)";
  if (!drop_caches_available()) {
    return s + " (echo 1 > " + kDropCaches + " not used: not root or not writable)";
  }
  return s + ", then echo 1 > " + kDropCaches + " (root)";
}

IoCounters io_counters() {
  IoCounters c;
  std::ifstream in("/proc/self/io");
  std::string name;
  uint64_t value = 0;
  while (in >> name >> value) {
    if (name == "rchar:") c.rchar = value;
    if (name == "read_bytes:") c.read_bytes = value;
  }
  return c;
}

IoCounters operator-(const IoCounters& a, const IoCounters& b) {
  return {a.rchar - b.rchar, a.read_bytes - b.read_bytes};
}

}  // namespace kaya::bench
