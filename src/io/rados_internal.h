// RadosDisk's shared state: the cluster handle, the per-object cache that makes
// offsets and conditional writes possible, and the fence (the log lock this disk
// holds, or the reason it lost it). rados_disk.cc connects and holds the cache,
// rados_file.cc the file operations, rados_dir.cc directories and names, rados_lock.cc
// the locks and the fence.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/mutex.h"
#include "io/librados.h"
#include "kaya/io/rados_disk.h"

namespace kaya::io {

// The name of every lock kaya takes (on the lock object and on the objects it writes).
inline constexpr const char* kRadosLockName = "kaya.wal";

// A librados write operation, released when it goes out of scope.
struct RadosWriteOp {
  RadosWriteOp() : op(librados().rados_create_write_op()) {}
  ~RadosWriteOp() { librados().rados_release_write_op(op); }
  RadosWriteOp(const RadosWriteOp&) = delete;
  RadosWriteOp& operator=(const RadosWriteOp&) = delete;
  rados_write_op_t op;
};

// What this disk knows about one object. `mu` serialises its modifications: each one
// asserts `version`, so only one may be in flight.
struct RadosObject {
  core::Mutex mu;
  bool known KAYA_GUARDED_BY(mu) = false;  // exists/size/version below are valid
  bool exists KAYA_GUARDED_BY(mu) = false;
  uint64_t size KAYA_GUARDED_BY(mu) = 0;
  uint64_t version KAYA_GUARDED_BY(mu) = 0;
  // This disk holds the object's lock under `lock_cookie` and asserts it on each write.
  bool locked KAYA_GUARDED_BY(mu) = false;
  std::string lock_cookie KAYA_GUARDED_BY(mu);
  // Set once a modification succeeded; lets fsync_file() skip the stat.
  std::atomic<bool> exists_hint{false};
};

struct RadosLocker {
  std::string client;  // "client.4123"
  std::string cookie;
  std::string address;
};

struct RadosDisk::Impl {
  using Clock = std::chrono::steady_clock;

  RadosDiskOptions options;
  rados_t cluster = nullptr;
  rados_ioctx_t io = nullptr;
  std::string base;  // "<prefix>/" or ""

  core::Mutex mu;
  // by object name
  std::map<std::string, std::shared_ptr<RadosObject>> objects KAYA_GUARDED_BY(mu);
  std::set<std::string> dirs KAYA_GUARDED_BY(mu);  // directories known to exist
  // the cookie of the log lock held, "" when none
  std::string fence_cookie KAYA_GUARDED_BY(mu);
  Clock::time_point lock_valid_until KAYA_GUARDED_BY(mu);
  // why this disk refuses modifications
  std::optional<Error> fence_error KAYA_GUARDED_BY(mu);
  std::atomic<bool> fenced{false};

  ~Impl();

  std::string oid(const RelativePath& path) const { return base + path.str(); }
  std::string dir_marker(const RelativePath& dir) const { return base + dir.str() + "/"; }
  std::string describe(const RelativePath& path) const;
  std::shared_ptr<RadosObject> object(const std::string& oid);
  void forget(const std::string& oid);

  // Synchronous RADOS calls that also report the object's version.
  int stat(const std::string& oid, uint64_t* size, uint64_t* version);
  int operate(rados_write_op_t op, const std::string& oid, uint64_t* version);

  // Fills obj's size/version/exists with a stat when not known yet.
  Status ensure_known(RadosObject& obj, const std::string& oid, const RelativePath& path)
      KAYA_REQUIRES(obj.mu);
  // One conditional modification: asserts the object lock (when held) and the cached
  // version (or creates the object exclusively), then what `add` puts in the same
  // atomic operation. On success the cache holds `new_size` and the new version.
  Status modify(RadosObject& obj, const std::string& oid, const RelativePath& path,
                std::string_view what, const std::function<void(rados_write_op_t)>& add,
                uint64_t new_size) KAYA_REQUIRES(obj.mu);

  // rados_dir.cc
  Result<bool> dir_exists(const RelativePath& dir);

  // rados_lock.cc
  // Fence: LockConflict once the lock is lost (or has run out unrenewed).
  Status check_fence();
  void fence(const Error& reason);
  // Before modifying an object while a log lock is held: lock it with that cookie
  // (breaking an earlier holder's lock) and check nobody changed it meanwhile.
  Status take_object(RadosObject& obj, const std::string& oid, const RelativePath& path)
      KAYA_REQUIRES(obj.mu);
  Result<std::vector<RadosLocker>> lockers(const std::string& oid);
  Status break_other_locks(const std::string& oid, const std::string& cookie);
  void release_objects(const std::string& cookie);
};

// "<what> <where> failed: <strerror>", with the kind for the errno.
Error rados_error(std::string_view what, const std::string& where, int rc);

// The input of the lock class's assert_locked method (cls_lock_assert_op, version 1):
// name, type (1 = exclusive), cookie, tag, in Ceph's little-endian encoding.
std::string encode_assert_locked(const std::string& name, const std::string& cookie);

}  // namespace kaya::io
