// RadosDisk's directories and names: RADOS has none, so a directory is an empty
// marker object "<dir>/", a listing filters the pool's objects by prefix, and a rename
// is a copy and a remove.
#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "io/rados_internal.h"
#include "kaya/io/rados_disk.h"

namespace kaya::io {

Result<bool> RadosDisk::Impl::dir_exists(const RelativePath& dir) {
  if (dir.is_root()) return true;
  {
    core::MutexLock lock(mu);
    if (dirs.count(dir.str())) return true;
  }
  uint64_t size = 0, version = 0;
  int rc = stat(dir_marker(dir), &size, &version);
  if (rc == -ENOENT) return false;
  if (rc < 0) return rados_error("stat directory marker of", describe(dir), rc);
  core::MutexLock lock(mu);
  dirs.insert(dir.str());
  return true;
}

Status RadosDisk::fsync_dir(const RelativePath& dir) {
  KAYA_RETURN_IF_ERROR(impl_->check_fence());
  KAYA_ASSIGN_OR_RETURN(bool exists, impl_->dir_exists(dir));
  if (!exists) return rados_error("sync directory", impl_->describe(dir), -ENOENT);
  return ok_status();
}

Result<std::vector<std::string>> RadosDisk::list_dir(const RelativePath& dir) {
  KAYA_ASSIGN_OR_RETURN(bool exists, impl_->dir_exists(dir));
  if (!exists) return rados_error("list directory", impl_->describe(dir), -ENOENT);
  const std::string prefix = dir.is_root() ? impl_->base : impl_->dir_marker(dir);
  rados_list_ctx_t ctx = nullptr;
  int rc = librados().rados_nobjects_list_open(impl_->io, &ctx);
  if (rc < 0) return rados_error("list directory", impl_->describe(dir), rc);
  std::set<std::string> names;
  for (;;) {
    const char* entry = nullptr;
    rc = librados().rados_nobjects_list_next(ctx, &entry, nullptr, nullptr);
    if (rc < 0) break;
    std::string_view name = entry;
    if (name.substr(0, prefix.size()) != prefix || name.size() == prefix.size()) continue;
    std::string_view rest = name.substr(prefix.size());
    names.emplace(rest.substr(0, rest.find('/')));
  }
  librados().rados_nobjects_list_close(ctx);
  if (rc != -ENOENT) return rados_error("list directory", impl_->describe(dir), rc);
  return std::vector<std::string>(names.begin(), names.end());
}

Status RadosDisk::create_dir(const RelativePath& dir) {
  KAYA_ASSIGN_OR_RETURN(bool exists, impl_->dir_exists(dir));
  if (exists) return ok_status();
  KAYA_ASSIGN_OR_RETURN(bool parent, impl_->dir_exists(dir.parent()));
  if (!parent) {
    return Error(ErrorKind::kNotFound,
                 "create directory " + impl_->describe(dir) + " failed: its parent " +
                     impl_->describe(dir.parent()) + " does not exist");
  }
  RadosWriteOp op;
  librados().rados_write_op_create(op.op, LIBRADOS_CREATE_IDEMPOTENT, nullptr);
  uint64_t version = 0;
  const int rc = impl_->operate(op.op, impl_->dir_marker(dir), &version);
  if (rc < 0) return rados_error("create directory", impl_->describe(dir), rc);
  core::MutexLock lock(impl_->mu);
  impl_->dirs.insert(dir.str());
  return ok_status();
}

Status RadosDisk::rename(const RelativePath& from, const RelativePath& to) {
  // RADOS has no rename: copy, then remove the source. The target is replaced by one
  // atomic write_full, so it is the old or the new object, never a mix.
  KAYA_ASSIGN_OR_RETURN(uint64_t len, file_len(from));
  if (len > impl_->options.max_write_bytes) {
    return Error(ErrorKind::kInvalidArgument,
                 "rename " + impl_->describe(from) + ": " + std::to_string(len) +
                     " bytes is more than one RADOS write (osd_max_write_size) can copy");
  }
  std::string bytes(len, '\0');
  KAYA_ASSIGN_OR_RETURN(
      size_t n, read_full(*this, from, 0,
                          std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()),
                                             bytes.size())));
  bytes.resize(n);
  const std::string oid = impl_->oid(to);
  {
    std::shared_ptr<RadosObject> obj = impl_->object(oid);
    core::MutexLock lock(obj->mu);
    KAYA_RETURN_IF_ERROR(impl_->ensure_known(*obj, oid, to));
    KAYA_RETURN_IF_ERROR(impl_->take_object(*obj, oid, to));
    KAYA_RETURN_IF_ERROR(impl_->modify(
        *obj, oid, to, "rename " + impl_->describe(from) + " to",
        [&](rados_write_op_t op) {
          librados().rados_write_op_write_full(op, bytes.data(), bytes.size());
        },
        bytes.size()));
  }
  return remove_file(from);
}

Status RadosDisk::remove_file(const RelativePath& path) {
  const std::string oid = impl_->oid(path);
  {
    std::shared_ptr<RadosObject> obj = impl_->object(oid);
    core::MutexLock lock(obj->mu);
    KAYA_RETURN_IF_ERROR(impl_->ensure_known(*obj, oid, path));
    if (!obj->exists) return rados_error("remove", impl_->describe(path), -ENOENT);
    KAYA_RETURN_IF_ERROR(impl_->take_object(*obj, oid, path));
    KAYA_RETURN_IF_ERROR(impl_->modify(
        *obj, oid, path, "remove",
        [](rados_write_op_t op) { librados().rados_write_op_remove(op); }, 0));
    obj->known = false;  // anyone still holding this entry stats again
    obj->exists_hint = false;
  }
  impl_->forget(oid);
  return ok_status();
}

}  // namespace kaya::io
