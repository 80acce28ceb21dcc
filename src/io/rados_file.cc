// RadosDisk's file operations: an object is a file (append, positioned reads and
// writes, length, truncation, sync), each modification conditional on the cached
// version (RadosDisk::Impl::modify).
#include <algorithm>
#include <cerrno>
#include <string>

#include "io/rados_internal.h"
#include "kaya/io/rados_disk.h"

namespace kaya::io {
namespace {

// A read returns at most this much; callers loop (read_full()).
constexpr size_t kMaxReadBytes = 16u << 20;

}  // namespace

Result<uint64_t> RadosDisk::append(const RelativePath& path,
                                   std::span<const ByteView> parts) {
  const std::string oid = impl_->oid(path);
  std::shared_ptr<RadosObject> obj = impl_->object(oid);
  core::MutexLock lock(obj->mu);
  KAYA_RETURN_IF_ERROR(impl_->ensure_known(*obj, oid, path));
  if (!obj->exists) {
    KAYA_ASSIGN_OR_RETURN(bool parent, impl_->dir_exists(path.parent()));
    if (!parent) {
      return Error(ErrorKind::kNotFound,
                   "append to " + impl_->describe(path) + " failed: its directory " +
                       impl_->describe(path.parent()) + " does not exist");
    }
  }
  KAYA_RETURN_IF_ERROR(impl_->take_object(*obj, oid, path));
  uint64_t total = 0;
  for (ByteView part : parts) total += part.size();
  const uint64_t start = obj->size;
  if (start + total > impl_->options.max_object_bytes) {
    return Error(ErrorKind::kInvalidArgument,
                 "append of " + std::to_string(total) + " bytes at offset " +
                     std::to_string(start) + " to " + impl_->describe(path) +
                     " would pass the RADOS object size limit of " +
                     std::to_string(impl_->options.max_object_bytes) +
                     " bytes (osd_max_object_size)");
  }
  if (total == 0 && obj->exists) return start;
  std::string bytes;
  bytes.reserve(total);
  for (ByteView part : parts)
    bytes.append(reinterpret_cast<const char*>(part.data()), part.size());
  // Writes above the OSDs' limit go in pieces: a failure leaves a prefix, as a short
  // write would on a file.
  size_t done = 0;
  do {
    const size_t n =
        std::min<uint64_t>(bytes.size() - done, impl_->options.max_write_bytes);
    const uint64_t offset = obj->size;
    KAYA_RETURN_IF_ERROR(impl_->modify(
        *obj, oid, path, "append at offset " + std::to_string(offset) + " to",
        [&](rados_write_op_t op) {
          librados().rados_write_op_write(op, bytes.data() + done, n, offset);
        },
        offset + n));
    done += n;
  } while (done < bytes.size());
  return start;
}

Result<size_t> RadosDisk::read_at(const RelativePath& path, uint64_t offset,
                                  std::span<uint8_t> out) {
  const size_t len = std::min(out.size(), kMaxReadBytes);
  const int rc = librados().rados_read(impl_->io, impl_->oid(path).c_str(),
                                       reinterpret_cast<char*>(out.data()), len, offset);
  if (rc < 0) {
    return rados_error("read at offset " + std::to_string(offset) + " from",
                       impl_->describe(path), rc);
  }
  return static_cast<size_t>(rc);
}

Status RadosDisk::write_at(const RelativePath& path, uint64_t offset, ByteView bytes) {
  const std::string oid = impl_->oid(path);
  const std::string what = "write at offset " + std::to_string(offset) + " to";
  std::shared_ptr<RadosObject> obj = impl_->object(oid);
  core::MutexLock lock(obj->mu);
  KAYA_RETURN_IF_ERROR(impl_->ensure_known(*obj, oid, path));
  if (!obj->exists) return rados_error(what, impl_->describe(path), -ENOENT);
  if (bytes.size() > impl_->options.max_write_bytes ||
      offset + bytes.size() > impl_->options.max_object_bytes) {
    return Error(ErrorKind::kInvalidArgument, what + " " + impl_->describe(path) +
                                                  " of " + std::to_string(bytes.size()) +
                                                  " bytes passes the RADOS limits");
  }
  KAYA_RETURN_IF_ERROR(impl_->take_object(*obj, oid, path));
  return impl_->modify(
      *obj, oid, path, what,
      [&](rados_write_op_t op) {
        librados().rados_write_op_write(op, reinterpret_cast<const char*>(bytes.data()),
                                        bytes.size(), offset);
      },
      std::max(obj->size, offset + bytes.size()));
}

Result<uint64_t> RadosDisk::file_len(const RelativePath& path) {
  const std::string oid = impl_->oid(path);
  uint64_t size = 0, version = 0;
  const int rc = impl_->stat(oid, &size, &version);
  if (rc < 0) return rados_error("stat", impl_->describe(path), rc);
  return size;
}

Status RadosDisk::truncate(const RelativePath& path, uint64_t len) {
  const std::string oid = impl_->oid(path);
  const std::string what = "truncate to " + std::to_string(len) + " bytes";
  std::shared_ptr<RadosObject> obj = impl_->object(oid);
  core::MutexLock lock(obj->mu);
  KAYA_RETURN_IF_ERROR(impl_->ensure_known(*obj, oid, path));
  if (!obj->exists) return rados_error(what, impl_->describe(path), -ENOENT);
  KAYA_RETURN_IF_ERROR(impl_->take_object(*obj, oid, path));
  return impl_->modify(
      *obj, oid, path, what,
      [&](rados_write_op_t op) { librados().rados_write_op_truncate(op, len); }, len);
}

Status RadosDisk::fsync_file(const RelativePath& path) {
  // Ceph acknowledged every write once all OSDs of the acting set had it: nothing to
  // flush. A fenced disk refuses, so a writer that lost its lock acknowledges nothing.
  KAYA_RETURN_IF_ERROR(impl_->check_fence());
  const std::string oid = impl_->oid(path);
  if (impl_->object(oid)->exists_hint) return ok_status();
  uint64_t size = 0, version = 0;
  const int rc = impl_->stat(oid, &size, &version);
  if (rc < 0) return rados_error("sync", impl_->describe(path), rc);
  return ok_status();
}

Result<bool> RadosDisk::still_linked(const RelativePath& path) {
  const std::string oid = impl_->oid(path);
  if (impl_->object(oid)->exists_hint) return true;
  uint64_t size = 0, version = 0;
  const int rc = impl_->stat(oid, &size, &version);
  if (rc == -ENOENT) return false;
  if (rc < 0) return rados_error("stat", impl_->describe(path), rc);
  return true;
}

}  // namespace kaya::io
