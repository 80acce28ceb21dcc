#include "kaya/io/rados_disk.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "io/rados_internal.h"

namespace kaya::io {
namespace {

// A read returns at most this much; callers loop (read_full()).
constexpr size_t kMaxReadBytes = 16u << 20;

struct WriteOp {
  WriteOp() : op(librados().rados_create_write_op()) {}
  ~WriteOp() { librados().rados_release_write_op(op); }
  WriteOp(const WriteOp&) = delete;
  WriteOp& operator=(const WriteOp&) = delete;
  rados_write_op_t op;
};

struct Completion {
  Completion() { (void)librados().rados_aio_create_completion2(nullptr, nullptr, &c); }
  ~Completion() { librados().rados_aio_release(c); }
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;
  int wait() {
    librados().rados_aio_wait_for_complete(c);
    return librados().rados_aio_get_return_value(c);
  }
  rados_completion_t c = nullptr;
};

Result<uint64_t> conf_u64(rados_t cluster, const char* name) {
  char buf[64] = {};
  int rc = librados().rados_conf_get(cluster, name, buf, sizeof buf);
  if (rc < 0)
    return rados_error(std::string("read the setting ") + name + " of", "the client", rc);
  return std::strtoull(buf, nullptr, 10);
}

}  // namespace

Error rados_error(std::string_view what, const std::string& where, int rc) {
  const int err = -rc;
  ErrorKind kind = ErrorKind::kIo;
  if (err == ENOENT) kind = ErrorKind::kNotFound;
  if (err == ENOSPC || err == EDQUOT) kind = ErrorKind::kDiskFull;
  if (err == EBUSY) kind = ErrorKind::kLockConflict;
  std::string message =
      std::string(what) + " " + where + " failed: " + std::system_category().message(err);
  if (kind == ErrorKind::kDiskFull) message += " (the pool is full or over quota)";
  return Error(kind, std::move(message));
}

RadosDisk::Impl::~Impl() {
  if (io != nullptr) librados().rados_ioctx_destroy(io);
  if (cluster != nullptr) librados().rados_shutdown(cluster);
}

std::string RadosDisk::Impl::describe(const RelativePath& path) const {
  std::string out = "rados://" + options.pool;
  if (!options.prefix.empty()) out += "/" + options.prefix;
  if (!path.is_root()) out += "/" + path.str();
  if (!options.object_namespace.empty()) out += "?ns=" + options.object_namespace;
  return out;
}

std::shared_ptr<RadosObject> RadosDisk::Impl::object(const std::string& oid) {
  core::MutexLock lock(mu);
  auto& slot = objects[oid];
  if (slot == nullptr) slot = std::make_shared<RadosObject>();
  return slot;
}

void RadosDisk::Impl::forget(const std::string& oid) {
  core::MutexLock lock(mu);
  objects.erase(oid);
}

int RadosDisk::Impl::stat(const std::string& oid, uint64_t* size, uint64_t* version) {
  rados_read_op_t op = librados().rados_create_read_op();
  int stat_rc = 0;
  time_t mtime = 0;
  librados().rados_read_op_stat(op, size, &mtime, &stat_rc);
  Completion done;
  int rc = librados().rados_aio_read_op_operate(op, io, done.c, oid.c_str(), 0);
  if (rc == 0) rc = done.wait();
  if (rc == 0) rc = stat_rc;
  if (rc == 0) *version = librados().rados_aio_get_version(done.c);
  librados().rados_release_read_op(op);
  return rc;
}

int RadosDisk::Impl::operate(rados_write_op_t op, const std::string& oid,
                             uint64_t* version) {
  Completion done;
  int rc = librados().rados_aio_write_op_operate(op, io, done.c, oid.c_str(), nullptr, 0);
  if (rc == 0) rc = done.wait();
  if (rc == 0) *version = librados().rados_aio_get_version(done.c);
  return rc;
}

Status RadosDisk::Impl::ensure_known(RadosObject& obj, const std::string& oid,
                                     const RelativePath& path) {
  if (obj.known) return ok_status();
  uint64_t size = 0, version = 0;
  int rc = stat(oid, &size, &version);
  if (rc < 0 && rc != -ENOENT) return rados_error("stat", describe(path), rc);
  obj.known = true;
  obj.exists = rc == 0;
  obj.size = obj.exists ? size : 0;
  obj.version = version;
  return ok_status();
}

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

Status RadosDisk::Impl::modify(RadosObject& obj, const std::string& oid,
                               const RelativePath& path, std::string_view what,
                               const std::function<void(rados_write_op_t)>& add,
                               uint64_t new_size) {
  // The guards go first; a RADOS operation is atomic, so when one fails nothing of
  // the operation is applied.
  const std::string assertion =
      obj.locked ? encode_assert_locked(kRadosLockName, obj.lock_cookie) : "";
  int lock_rc = 0;
  WriteOp op;
  if (obj.locked) {
    librados().rados_write_op_exec(op.op, "lock", "assert_locked", assertion.data(),
                                   assertion.size(), &lock_rc);
  }
  if (obj.exists) {
    librados().rados_write_op_assert_version(op.op, obj.version);
  } else {
    librados().rados_write_op_create(op.op, LIBRADOS_CREATE_EXCLUSIVE, nullptr);
  }
  add(op.op);
  uint64_t version = 0;
  const int rc = operate(op.op, oid, &version);
  if (rc == 0) {
    obj.exists = true;
    obj.size = new_size;
    obj.version = version;
    obj.exists_hint = true;
    return ok_status();
  }
  // The outcome of a failed operation is unknown (a timeout may hide a success): the
  // next one starts with a fresh stat.
  obj.known = false;
  const std::string where = describe(path);
  // assert_locked fails with EBUSY whether the lock is gone or someone else's.
  if (obj.locked && (lock_rc < 0 || rc == -EBUSY)) {
    Error error(ErrorKind::kLockConflict,
                std::string(what) + " " + where +
                    " refused: this disk no longer holds the object's lock (another "
                    "client took it over); it accepts no more writes");
    fence(error);
    return error;
  }
  if (obj.exists && (rc == -ERANGE || rc == -EOVERFLOW)) {
    Error error(ErrorKind::kInvariantViolation,
                std::string(what) + " " + where + " refused: the object changed since " +
                    "this disk last saw it (version " + std::to_string(obj.version) +
                    "): another client is writing it; it accepts no more writes");
    fence(error);
    return error;
  }
  if (!obj.exists && rc == -EEXIST) {
    Error error(ErrorKind::kInvariantViolation,
                std::string(what) + " " + where +
                    " refused: another client created the object meanwhile");
    fence(error);
    return error;
  }
  return rados_error(what, where, rc);
}

Status RadosDisk::Impl::check_fence() {
  if (fenced) {
    core::MutexLock lock(mu);
    return *fence_error;
  }
  core::MutexLock lock(mu);
  if (fence_cookie.empty() || Clock::now() < lock_valid_until) return ok_status();
  lock.unlock();
  Error error(
      ErrorKind::kLockConflict,
      "the RADOS lock this disk holds ran out before it could be renewed (duration " +
          std::to_string(options.lock_duration_ms) +
          " ms): another client may hold it now; this disk accepts no "
          "more writes");
  fence(error);
  return error;
}

void RadosDisk::Impl::fence(const Error& reason) {
  core::MutexLock lock(mu);
  if (!fence_error) fence_error = reason;
  fenced = true;
}

Status RadosDisk::Impl::take_object(RadosObject& obj, const std::string& oid,
                                    const RelativePath& path) {
  KAYA_RETURN_IF_ERROR(check_fence());
  std::string cookie;
  {
    core::MutexLock lock(mu);
    cookie = fence_cookie;
  }
  if (cookie.empty()) {
    obj.locked = false;  // no log lock: writes are guarded by the version alone
    return ok_status();
  }
  if (obj.locked && obj.lock_cookie == cookie) return ok_status();
  KAYA_RETURN_IF_ERROR(ensure_known(obj, oid, path));
  const bool existed = obj.exists;
  const uint64_t size_before = obj.size;
  // No duration: the object lock marks who owns the object until the next holder of
  // the log lock takes it over. Taking it creates the object.
  const std::string description = "kaya log object";
  int rc = librados().rados_lock_exclusive(
      io, oid.c_str(), kRadosLockName, cookie.c_str(), description.c_str(), nullptr, 0);
  if (rc == -EBUSY) {
    KAYA_RETURN_IF_ERROR(break_other_locks(oid, cookie));
    rc = librados().rados_lock_exclusive(io, oid.c_str(), kRadosLockName, cookie.c_str(),
                                         description.c_str(), nullptr, 0);
  }
  if (rc < 0 && rc != -EEXIST) return rados_error("lock", describe(path), rc);
  obj.known = false;  // the lock changed the version
  KAYA_RETURN_IF_ERROR(ensure_known(obj, oid, path));
  if (obj.size != (existed ? size_before : 0)) {
    Error error(ErrorKind::kInvariantViolation,
                describe(path) + " changed from " + std::to_string(size_before) + " to " +
                    std::to_string(obj.size) +
                    " bytes while this disk took it over: the previous holder was "
                    "still writing; it accepts no more writes");
    fence(error);
    return error;
  }
  obj.locked = true;
  obj.lock_cookie = cookie;
  return ok_status();
}

RadosDisk::RadosDisk(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RadosDisk::~RadosDisk() = default;

Result<std::unique_ptr<RadosDisk>> RadosDisk::open(const RadosDiskOptions& options) {
  if (options.pool.empty()) {
    return Error(ErrorKind::kInvalidArgument, "RadosDisk: the pool name is empty");
  }
  KAYA_RETURN_IF_ERROR(load_librados());
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->base = options.prefix.empty() ? "" : options.prefix + "/";
  const std::string where = "the Ceph cluster";
  int rc = librados().rados_create(&impl->cluster, options.client_id.c_str());
  if (rc < 0) return rados_error("create a client of", where, rc);
  rc = librados().rados_conf_read_file(
      impl->cluster, options.conf_path.empty() ? nullptr : options.conf_path.c_str());
  if (rc < 0) {
    return Error(ErrorKind::kIo,
                 options.conf_path.empty()
                     ? "no Ceph configuration found: set CEPH_CONF to the cluster's "
                       "ceph.conf"
                     : "cannot read the Ceph configuration " + options.conf_path + ": " +
                           std::system_category().message(-rc));
  }
  (void)librados().rados_conf_parse_env(impl->cluster, nullptr);
  const std::string timeout = std::to_string(options.connect_timeout_s);
  (void)librados().rados_conf_set(impl->cluster, "client_mount_timeout", timeout.c_str());
  (void)librados().rados_conf_set(impl->cluster, "rados_mon_op_timeout", timeout.c_str());
  rc = librados().rados_connect(impl->cluster);
  if (rc < 0) {
    char mon_host[256] = {};
    (void)librados().rados_conf_get(impl->cluster, "mon_host", mon_host,
                                    sizeof mon_host - 1);
    return rados_error("connect to", where + " (mon_host " + mon_host + ")", rc)
        .with_context("is the cluster running and CEPH_CONF right?");
  }
  rc = librados().rados_ioctx_create(impl->cluster, options.pool.c_str(), &impl->io);
  if (rc == -ENOENT) {
    return Error(ErrorKind::kNotFound, "the RADOS pool \"" + options.pool +
                                           "\" does not exist (create it with `ceph "
                                           "osd pool create " +
                                           options.pool + "`)");
  }
  if (rc < 0) return rados_error("open the pool " + options.pool + " of", where, rc);
  librados().rados_ioctx_set_namespace(impl->io, options.object_namespace.empty()
                                                     ? nullptr
                                                     : options.object_namespace.c_str());
  if (impl->options.max_object_bytes == 0) {
    KAYA_ASSIGN_OR_RETURN(impl->options.max_object_bytes,
                          conf_u64(impl->cluster, "osd_max_object_size"));
  }
  if (impl->options.max_write_bytes == 0) {
    KAYA_ASSIGN_OR_RETURN(uint64_t mib, conf_u64(impl->cluster, "osd_max_write_size"));
    impl->options.max_write_bytes = mib << 20;
  }
  if (impl->options.lock_renew_interval_ms == 0) {
    impl->options.lock_renew_interval_ms = std::max(1u, options.lock_duration_ms / 3);
  }
  return std::unique_ptr<RadosDisk>(new RadosDisk(std::move(impl)));
}

const RadosDiskOptions& RadosDisk::options() const { return impl_->options; }

bool RadosDisk::fenced() const { return impl_->fenced; }

DiskLimits RadosDisk::limits() const {
  return DiskLimits{impl_->options.max_object_bytes,
                    "the RADOS object size limit (osd_max_object_size) of " +
                        impl_->describe(RelativePath())};
}

std::string RadosDisk::describe(const RelativePath& path) const {
  return impl_->describe(path);
}

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
  WriteOp op;
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
