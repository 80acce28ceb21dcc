#include "io/file_table.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>

#include "io/posix_error.h"

namespace kaya::io {
namespace {

int open_retrying(const std::string& path, int flags) {
  int fd;
  do fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  return fd;
}

// The descriptor, or -1 with errno set. Reads open O_RDONLY: a reader needs no write
// permission (immutable or append-only segments read as `cat` reads them) and its
// close raises no IN_CLOSE_WRITE.
int open_for(const std::string& path, Access access) {
  if (access == Access::kRead) return open_retrying(path, O_RDONLY);
  if (access == Access::kCreate) {
    // O_NOFOLLOW, so that O_CREAT never creates the target of a dangling symbolic
    // link; a link (ELOOP) is then opened as it stands, without creating anything.
    const int fd = open_retrying(path, O_RDWR | O_CREAT | O_NOFOLLOW);
    if (fd >= 0 || errno != ELOOP) return fd;
  }
  return open_retrying(path, O_RDWR);
}

}  // namespace

OpenFile::~OpenFile() { ::close(fd_); }

FileRef::~FileRef() {
  if (file_ != nullptr) table_->release(*file_, write_);
}

Result<FileRef> FileTable::get(const std::string& key,
                               const std::function<std::string()>& make_full_path,
                               Access access) {
  const bool need_writable = access != Access::kRead;
  for (;;) {
    uint64_t epoch;
    {
      core::MutexLock lock(mu_);
      auto it = index_.find(key);
      if (it != index_.end() && (!need_writable || it->second->second->writable())) {
        touch_locked(it->second);
        return use_locked(it->second->second, access);
      }
      epoch = names_epoch_;
    }
    // open() runs outside the lock: it can be slow and must not stall other files.
    const std::string full_path = make_full_path();
    int fd = open_for(full_path, access);
    if (fd < 0 && out_of_descriptors(errno)) {
      shed();
      fd = open_for(full_path, access);
    }
    if (fd < 0) return path_error("open", full_path, errno);
    auto file = std::make_shared<OpenFile>(fd, need_writable);
    std::vector<std::shared_ptr<OpenFile>> closing;  // closed after the lock
    core::MutexLock lock(mu_);
    if (names_epoch_ != epoch) {
      closing.push_back(std::move(file));
      continue;  // the path may name another file now
    }
    auto it = index_.find(key);
    if (it == index_.end()) {
      lru_.emplace_front(key, file);
      index_[key] = lru_.begin();
    } else if (need_writable && !it->second->second->writable()) {
      // The read-only descriptor was never written through: nothing to keep it for.
      // Its users keep it open until they are done.
      closing.push_back(std::exchange(it->second->second, file));
      touch_locked(it->second);
    } else {
      closing.push_back(std::exchange(file, it->second->second));  // another thread won
      touch_locked(it->second);
    }
    FileRef ref = use_locked(std::move(file), access);
    trim_locked(max_clean_, closing);
    return ref;
  }
}

std::optional<FileRef> FileTable::cached(const std::string& key) {
  core::MutexLock lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  return use_locked(it->second->second, Access::kRead);
}

FileRef FileTable::use_locked(std::shared_ptr<OpenFile> file, Access access) {
  file->users_++;
  const bool write = access == Access::kWrite || access == Access::kCreate;
  return FileRef(shared_from_this(), std::move(file), write);
}

void FileTable::release(OpenFile& file, bool write) {
  std::vector<std::shared_ptr<OpenFile>> closing;
  core::MutexLock lock(mu_);
  assert(file.users_ > 0);
  file.users_--;
  // Counted when the write ends, so that only a sync that begins after it covers it.
  if (write) file.writes_done_++;
  // A descriptor becomes evictable only here, when its last user leaves it clean (a
  // sync makes it clean while in use): only then can the cache hold one clean
  // descriptor too many. A write leaves its file dirty, so the append path never
  // walks the cache.
  if (file.users_ == 0 && !dirty(file) && lru_.size() > max_clean_) {
    trim_locked(max_clean_, closing);
  }
}

uint64_t FileTable::begin_sync(const FileRef& ref) {
  core::MutexLock lock(mu_);
  return ref.file_->writes_done_;
}

void FileTable::synced(const FileRef& ref, uint64_t covered) {
  core::MutexLock lock(mu_);
  OpenFile& file = *ref.file_;
  if (covered > file.writes_synced_) file.writes_synced_ = covered;
  // Trimmed when the reference is released: it is in use until then.
}

void FileTable::erase_locked(const std::string& key,
                             std::vector<std::shared_ptr<OpenFile>>& out) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  out.push_back(std::move(it->second->second));
  lru_.erase(it->second);
  index_.erase(it);
}

void FileTable::forget(const std::string& key) {
  std::vector<std::shared_ptr<OpenFile>> closing;
  core::MutexLock lock(mu_);
  erase_locked(key, closing);
  ++names_epoch_;
}

void FileTable::renamed(const std::string& from, const std::string& to,
                        const std::string& to_full_path) {
  std::vector<std::shared_ptr<OpenFile>> closing;
  core::MutexLock lock(mu_);
  ++names_epoch_;
  erase_locked(to, closing);
  auto it = index_.find(from);
  if (it == index_.end()) return;
  Lru::iterator entry = it->second;
  index_.erase(it);
  // Moved only when it still is the file at `to` (not one replaced behind our back):
  // a descriptor with unsynced writes then stays open for the sync under its new name.
  struct stat held, named;
  if (::fstat(entry->second->fd(), &held) == 0 &&
      ::stat(to_full_path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
      held.st_ino == named.st_ino) {
    entry->first = to;
    index_[to] = entry;
    touch_locked(entry);
    return;
  }
  closing.push_back(std::move(entry->second));
  lru_.erase(entry);
}

void FileTable::shed() {
  std::vector<std::shared_ptr<OpenFile>> closing;
  core::MutexLock lock(mu_);
  trim_locked(0, closing);
}

void FileTable::trim_locked(size_t keep, std::vector<std::shared_ptr<OpenFile>>& out) {
  size_t clean = 0;
  for (const Entry& entry : lru_) clean += dirty(*entry.second) ? 0 : 1;
  for (auto it = lru_.end(); clean > keep && it != lru_.begin();) {
    --it;
    const OpenFile& file = *it->second;
    if (file.users_ > 0 || dirty(file)) continue;
    out.push_back(std::move(it->second));
    index_.erase(it->first);
    it = lru_.erase(it);
    --clean;
  }
}

}  // namespace kaya::io
