// RadosDisk: connecting to the cluster, and the per-object cache with the one
// conditional modification every write goes through. The file operations are in
// rados_file.cc, directories and names in rados_dir.cc, the locks and the fence in
// rados_lock.cc.
#include "kaya/io/rados_disk.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "io/rados_internal.h"

namespace kaya::io {
namespace {

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

Status RadosDisk::Impl::modify(RadosObject& obj, const std::string& oid,
                               const RelativePath& path, std::string_view what,
                               const std::function<void(rados_write_op_t)>& add,
                               uint64_t new_size) {
  // The guards go first; a RADOS operation is atomic, so when one fails nothing of
  // the operation is applied.
  const std::string assertion =
      obj.locked ? encode_assert_locked(kRadosLockName, obj.lock_cookie) : "";
  int lock_rc = 0;
  RadosWriteOp op;
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

}  // namespace kaya::io
