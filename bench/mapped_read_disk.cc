#include "mapped_read_disk.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace kaya::bench {

MappedReadDisk::MappedReadDisk(io::Disk& inner, std::string root)
    : inner_(inner), root_(std::move(root)) {}

MappedReadDisk::~MappedReadDisk() {
  for (auto& [path, m] : maps_) {
    if (m.len > 0) ::munmap(const_cast<uint8_t*>(m.data), m.len);
  }
}

Result<size_t> MappedReadDisk::read_at(const io::RelativePath& path, uint64_t offset,
                                       std::span<uint8_t> out) {
  auto it = maps_.find(path.str());
  if (it == maps_.end()) {
    const std::string full = root_ + "/" + path.str();
    int fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return inner_.read_at(path, offset, out);  // the inner disk says why
    struct stat st;
    Mapping m;
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      m.len = static_cast<size_t>(st.st_size);
      void* base = ::mmap(nullptr, m.len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (base == MAP_FAILED) {
        m.len = 0;  // every read goes to the inner disk
      } else {
        m.data = static_cast<const uint8_t*>(base);
      }
    }
    ::close(fd);
    it = maps_.emplace(path.str(), m).first;
  }
  const Mapping& m = it->second;
  if (offset >= m.len) return inner_.read_at(path, offset, out);
  const size_t n = std::min<uint64_t>(out.size(), m.len - offset);
  std::memcpy(out.data(), m.data + offset, n);
  return n;
}

}  // namespace kaya::bench
