#include "rados_baseline.h"

#include <dlfcn.h>
#include <rados/librados.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <system_error>

#include "kaya/io/rados_disk.h"

namespace kaya::tool {
namespace {

constexpr const char* kSoname = "librados.so.2";

// The librados functions the baseline calls, with librados.h's types.
#define KAYA_BASELINE_FUNCTIONS(X) \
  X(rados_create)                  \
  X(rados_conf_read_file)          \
  X(rados_conf_parse_env)          \
  X(rados_conf_set)                \
  X(rados_connect)                 \
  X(rados_ioctx_create)            \
  X(rados_ioctx_set_namespace)     \
  X(rados_append)                  \
  X(rados_remove)                  \
  X(rados_ioctx_destroy)           \
  X(rados_shutdown)

struct Functions {
#define KAYA_BASELINE_MEMBER(name) decltype(&::name) name = nullptr;
  KAYA_BASELINE_FUNCTIONS(KAYA_BASELINE_MEMBER)
#undef KAYA_BASELINE_MEMBER
};

// The library stays loaded for the life of the process, as in libkaya (librados keeps
// threads and static state that an unload would pull from under them), so the handle
// is never closed.
Result<Functions> load() {
  void* handle = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return Error(ErrorKind::kIo, std::string("the RADOS baseline needs ") + kSoname +
                                     ", which this process cannot load: " +
                                     (why ? why : "unknown error") +
                                     " (on Debian, install the librados2 package)");
  }
  Functions f;
  const char* missing = nullptr;
#define KAYA_BASELINE_LOOKUP(name)                                        \
  if (missing == nullptr) {                                               \
    f.name = reinterpret_cast<decltype(&::name)>(::dlsym(handle, #name)); \
    if (f.name == nullptr) missing = #name;                               \
  }
  KAYA_BASELINE_FUNCTIONS(KAYA_BASELINE_LOOKUP)
#undef KAYA_BASELINE_LOOKUP
  if (missing != nullptr) {
    return Error(ErrorKind::kIo, std::string("the RADOS baseline cannot use ") + kSoname +
                                     ": it has no function " + missing);
  }
  return f;
}

// librados returns -errno. (std::strerror is not thread-safe; appends fail in parallel.)
std::string why(int rc) { return std::system_category().message(-rc); }

// "<pid>-<16 hex digits>": no other run picks the same object names.
std::string run_tag() {
  std::random_device device;
  const uint64_t random = (uint64_t{device()} << 32) | device();
  char tag[48];
  std::snprintf(tag, sizeof tag, "%ld-%016llx", static_cast<long>(::getpid()),
                static_cast<unsigned long long>(random));
  return tag;
}

}  // namespace

struct RadosBaseline::Impl {
  ~Impl() {
    if (io != nullptr) f.rados_ioctx_destroy(io);
    if (cluster != nullptr) f.rados_shutdown(cluster);
  }

  Functions f;
  io::RadosDiskOptions options;
  std::string name_base;  // object_name(n) is name_base + n
  rados_t cluster = nullptr;
  rados_ioctx_t io = nullptr;
  std::mutex remove_mu;
  uint64_t removed = 0;  // objects [0, removed) are gone; guarded by remove_mu
};

RadosBaseline::RadosBaseline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RadosBaseline::~RadosBaseline() {
  try {
    (void)remove_objects();
  } catch (...) {  // out of memory for a name or a message: nothing more to do here
  }
}

Result<std::unique_ptr<RadosBaseline>> RadosBaseline::connect(
    const std::string& location) {
  KAYA_ASSIGN_OR_RETURN(io::RadosDiskOptions options, io::parse_rados_location(location));
  auto impl = std::make_unique<Impl>();
  KAYA_ASSIGN_OR_RETURN(impl->f, load());
  const Functions& f = impl->f;
  impl->options = options;
  impl->name_base = (options.prefix.empty() ? "" : options.prefix + "/") +
                    "bench-baseline-" + run_tag() + "-";
  // Which cluster, for the errors: the configuration file librados reads.
  const char* env_conf = std::getenv("CEPH_CONF");
  const std::string conf = !options.conf_path.empty() ? options.conf_path
                           : env_conf != nullptr ? std::string("CEPH_CONF=") + env_conf
                                                 : "librados's default ceph.conf";
  const std::string cluster = "the Ceph cluster of " + conf;
  int rc = f.rados_create(&impl->cluster, options.client_id.c_str());
  if (rc < 0) {
    return Error(ErrorKind::kIo,
                 "the RADOS baseline cannot create a client (rados_create): " + why(rc));
  }
  rc = f.rados_conf_read_file(
      impl->cluster, options.conf_path.empty() ? nullptr : options.conf_path.c_str());
  if (rc < 0) {
    return Error(ErrorKind::kIo,
                 "the RADOS baseline cannot read the Ceph configuration (" + conf +
                     "): " + why(rc) + "; set CEPH_CONF to the cluster's ceph.conf");
  }
  (void)f.rados_conf_parse_env(impl->cluster, nullptr);
  const std::string timeout = std::to_string(options.connect_timeout_s);
  (void)f.rados_conf_set(impl->cluster, "client_mount_timeout", timeout.c_str());
  (void)f.rados_conf_set(impl->cluster, "rados_mon_op_timeout", timeout.c_str());
  rc = f.rados_connect(impl->cluster);
  if (rc < 0) {
    return Error(ErrorKind::kIo, "the RADOS baseline cannot connect to " + cluster +
                                     ": " + why(rc) + " (is the cluster running?)");
  }
  rc = f.rados_ioctx_create(impl->cluster, options.pool.c_str(), &impl->io);
  if (rc < 0) {
    return Error(rc == -ENOENT ? ErrorKind::kNotFound : ErrorKind::kIo,
                 "the RADOS baseline cannot open the pool \"" + options.pool + "\" of " +
                     cluster + ": " + why(rc));
  }
  f.rados_ioctx_set_namespace(impl->io, options.object_namespace.empty()
                                            ? nullptr
                                            : options.object_namespace.c_str());
  return std::unique_ptr<RadosBaseline>(new RadosBaseline(std::move(impl)));
}

std::string RadosBaseline::object_name(uint64_t n) const {
  return impl_->name_base + std::to_string(n);
}

std::string RadosBaseline::describe(uint64_t n) const {
  const io::RadosDiskOptions& o = impl_->options;
  return "rados://" + o.pool + "/" + object_name(n) +
         (o.object_namespace.empty() ? "" : "?ns=" + o.object_namespace);
}

Status RadosBaseline::append(uint64_t offset, std::string_view bytes) {
  const uint64_t n = offset / kObjectBytes;
  // Recorded before the write: an append whose outcome is unknown may have created
  // the object, which remove_objects() must then remove.
  uint64_t used = objects_used_.load();
  while (used < n + 1 && !objects_used_.compare_exchange_weak(used, n + 1)) {
  }
  // The name fits a small buffer: no allocation on the measured path.
  char oid[512];
  const int len = std::snprintf(oid, sizeof oid, "%s%llu", impl_->name_base.c_str(),
                                static_cast<unsigned long long>(n));
  if (len < 0 || static_cast<size_t>(len) >= sizeof oid) {
    return Error(ErrorKind::kInvalidArgument,
                 "the RADOS baseline's object name is too long: " + object_name(n));
  }
  const int rc = impl_->f.rados_append(impl_->io, oid, bytes.data(), bytes.size());
  if (rc < 0) {
    return Error(rc == -ENOSPC || rc == -EDQUOT ? ErrorKind::kDiskFull : ErrorKind::kIo,
                 "rados_append of " + std::to_string(bytes.size()) + " bytes to " +
                     describe(n) + " failed: " + why(rc));
  }
  return ok_status();
}

Status RadosBaseline::remove_objects() {
  std::lock_guard<std::mutex> lock(impl_->remove_mu);
  Status first = ok_status();
  const uint64_t used = objects_used_.load();
  for (uint64_t n = impl_->removed; n < used; ++n) {
    const int rc = impl_->f.rados_remove(impl_->io, object_name(n).c_str());
    if (rc < 0 && rc != -ENOENT && first.ok()) {
      first = Error(ErrorKind::kIo, "cannot remove the RADOS baseline's object " +
                                        describe(n) + ": " + why(rc));
    }
  }
  impl_->removed = used;
  return first;
}

}  // namespace kaya::tool
