// RadosDisk's locks: the log lock (an exclusive RADOS lock with a duration, renewed by
// a thread) and the takeover of object locks by the holder of the log lock.
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <random>
#include <system_error>
#include <thread>

#include "io/rados_internal.h"
#include "kaya/io/rados_disk.h"

namespace kaya::io {
namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_string(std::string& out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out += s;
}

// Splits librados's NUL-separated lists.
std::vector<std::string> split_nul(const char* buf, size_t len) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < len; ++i) {
    if (buf[i] == '\0') {
      out.emplace_back(buf + start, i - start);
      start = i + 1;
    }
  }
  return out;
}

// Names the holder in LockConflict messages: host and process of the writer.
std::string make_cookie() {
  char host[256] = {};
  (void)gethostname(host, sizeof host - 1);
  std::random_device random;
  char tail[17];
  std::snprintf(tail, sizeof tail, "%08x%08x", random(), random());
  return "kaya." + std::string(host) + ".pid" + std::to_string(getpid()) + "." + tail;
}

timeval to_timeval(uint32_t ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>(ms % 1000) * 1000;
  return tv;
}

// The log lock. Renewed every lock_renew_interval_ms; a failed renewal fences the disk.
class RadosLock final : public FileLock {
 public:
  RadosLock(RadosDisk::Impl& disk, std::string oid, std::string cookie)
      : disk_(disk), oid_(std::move(oid)), cookie_(std::move(cookie)) {
    renewer_ = std::thread([this] { renew_loop(); });
  }

  ~RadosLock() override {
    {
      core::MutexLock lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    renewer_.join();
    disk_.release_objects(cookie_);
    (void)librados().rados_unlock(disk_.io, oid_.c_str(), kRadosLockName,
                                  cookie_.c_str());
  }

 private:
  void renew_loop() {
    const auto interval = std::chrono::milliseconds(disk_.options.lock_renew_interval_ms);
    timeval duration = to_timeval(disk_.options.lock_duration_ms);
    core::MutexLock lock(mu_);
    for (;;) {
      if (cv_.wait_for(lock.native(), interval, [&] {
            mu_.assert_held();  // the predicate runs under it
            return stop_;
          })) {
        return;
      }
      lock.unlock();
      const auto sent = RadosDisk::Impl::Clock::now();
      // MUST_RENEW: fails when the lock is no longer ours instead of taking it anew.
      const int rc = librados().rados_lock_exclusive(
          disk_.io, oid_.c_str(), kRadosLockName, cookie_.c_str(), "kaya writer",
          &duration, LIBRADOS_LOCK_FLAG_MUST_RENEW);
      lock.lock();
      if (stop_) return;
      if (rc < 0) {
        disk_.fence(Error(ErrorKind::kLockConflict,
                          "lost the lock on " + oid_ +
                              " (renewal failed: " + std::system_category().message(-rc) +
                              "): another client may hold it now; this disk "
                              "accepts no more writes"));
        return;
      }
      core::MutexLock disk_lock(disk_.mu);
      if (disk_.fence_cookie == cookie_) {
        disk_.lock_valid_until =
            sent + std::chrono::milliseconds(disk_.options.lock_duration_ms);
      }
    }
  }

  RadosDisk::Impl& disk_;
  const std::string oid_;
  const std::string cookie_;
  core::Mutex mu_;
  std::condition_variable cv_;
  bool stop_ KAYA_GUARDED_BY(mu_) = false;
  std::thread renewer_;
};

}  // namespace

std::string encode_assert_locked(const std::string& name, const std::string& cookie) {
  std::string body;
  put_string(body, name);
  body.push_back(1);  // ClsLockType exclusive
  put_string(body, cookie);
  put_string(body, "");  // tag: librados's lock calls use an empty one
  std::string out;
  out.push_back(1);  // struct version
  out.push_back(1);  // compatible version
  put_u32(out, static_cast<uint32_t>(body.size()));
  return out + body;
}

Result<std::vector<RadosLocker>> RadosDisk::Impl::lockers(const std::string& oid) {
  size_t cap = 4096;
  for (;;) {
    std::string tag(cap, '\0'), clients(cap, '\0'), cookies(cap, '\0'), addrs(cap, '\0');
    size_t tag_len = cap, clients_len = cap, cookies_len = cap, addrs_len = cap;
    int exclusive = 0;
    const ssize_t n = librados().rados_list_lockers(
        io, oid.c_str(), kRadosLockName, &exclusive, tag.data(), &tag_len, clients.data(),
        &clients_len, cookies.data(), &cookies_len, addrs.data(), &addrs_len);
    if (n == -ERANGE) {
      cap *= 4;
      continue;
    }
    if (n < 0) return rados_error("list the lockers of", oid, static_cast<int>(n));
    auto c = split_nul(clients.data(), clients_len);
    auto k = split_nul(cookies.data(), cookies_len);
    auto a = split_nul(addrs.data(), addrs_len);
    std::vector<RadosLocker> out;
    for (size_t i = 0; i < c.size() && i < k.size(); ++i) {
      out.push_back(RadosLocker{c[i], k[i], i < a.size() ? a[i] : ""});
    }
    return out;
  }
}

Status RadosDisk::Impl::break_other_locks(const std::string& oid,
                                          const std::string& cookie) {
  auto listed = lockers(oid);
  if (!listed.ok() && listed.error().kind() == ErrorKind::kNotFound) {
    return ok_status();  // no object, no lock
  }
  KAYA_ASSIGN_OR_RETURN(std::vector<RadosLocker> holders, std::move(listed));
  for (const RadosLocker& holder : holders) {
    if (holder.cookie == cookie) continue;
    const int rc = librados().rados_break_lock(
        io, oid.c_str(), kRadosLockName, holder.client.c_str(), holder.cookie.c_str());
    if (rc < 0 && rc != -ENOENT) {
      return rados_error("break " + holder.client + "'s lock on", oid, rc);
    }
  }
  return ok_status();
}

void RadosDisk::Impl::release_objects(const std::string& cookie) {
  std::vector<std::pair<std::string, std::shared_ptr<RadosObject>>> held;
  {
    core::MutexLock lock(mu);
    if (fence_cookie == cookie) fence_cookie.clear();
    held.assign(objects.begin(), objects.end());
  }
  for (auto& [oid, obj] : held) {
    core::MutexLock lock(obj->mu);
    if (!obj->locked || obj->lock_cookie != cookie) continue;
    // Best effort: a lock left behind is broken by the next holder of the log lock.
    (void)librados().rados_unlock(io, oid.c_str(), kRadosLockName, cookie.c_str());
    obj->locked = false;
    obj->known = false;  // unlocking changed the version
  }
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

Status RadosDisk::break_lock(const RelativePath& path) {
  return impl_->break_other_locks(impl_->oid(path), "");
}

Result<bool> RadosDisk::lock_held(const RelativePath& path) {
  auto listed = impl_->lockers(impl_->oid(path));
  if (!listed.ok() && listed.error().kind() == ErrorKind::kNotFound) return false;
  KAYA_ASSIGN_OR_RETURN(std::vector<RadosLocker> holders, std::move(listed));
  return !holders.empty();
}

Result<std::unique_ptr<FileLock>> RadosDisk::lock_file(const RelativePath& path) {
  const std::string oid = impl_->oid(path);
  const std::string cookie = make_cookie();
  timeval duration = to_timeval(impl_->options.lock_duration_ms);
  const auto sent = Impl::Clock::now();
  int rc = librados().rados_lock_exclusive(impl_->io, oid.c_str(), kRadosLockName,
                                           cookie.c_str(), "kaya writer", &duration, 0);
  if (rc == -EBUSY || rc == -EEXIST) {
    std::string holder = "another client";
    auto holders = impl_->lockers(oid);
    if (holders.ok() && !holders->empty()) {
      const RadosLocker& h = holders->front();
      holder = h.client + " (cookie " + h.cookie + ", address " + h.address + ")";
    }
    return Error(ErrorKind::kLockConflict,
                 describe(path) + " is locked by " + holder +
                     " (an exclusive lock has one holder at a time; a crashed holder's "
                     "lock expires after " +
                     std::to_string(impl_->options.lock_duration_ms) + " ms)");
  }
  if (rc < 0) return rados_error("lock", describe(path), rc);
  {
    core::MutexLock lock(impl_->mu);
    if (impl_->fence_cookie.empty()) {
      impl_->fence_cookie = cookie;
      impl_->lock_valid_until =
          sent + std::chrono::milliseconds(impl_->options.lock_duration_ms);
      // A new lock starts a new term: an earlier loss no longer applies.
      impl_->fence_error.reset();
      impl_->fenced = false;
    }
  }
  return std::unique_ptr<FileLock>(new RadosLock(*impl_, oid, cookie));
}

}  // namespace kaya::io
