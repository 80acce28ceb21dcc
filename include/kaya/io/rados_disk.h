/// @file
/// RadosDisk: a Disk over Ceph RADOS objects, so the log is replicated by the cluster.
///
/// The class exists only in builds with librados (KAYA_HAVE_RADOS, from
/// kaya/core/build_config.h, is then 1): elsewhere this header declares the location
/// helpers and no RadosDisk, so using it fails to compile rather than to link.
/// docs/durability.md says
/// what each operation guarantees; in short:
///
/// - Objects: a RelativePath "wal/0000000000000001.wal" is the object
///   "<prefix>/wal/0000000000000001.wal" in the pool (and namespace) of the options.
///   A directory is a marker object "<prefix>/<dir>/" made by create_dir(); list_dir()
///   lists the namespace (unordered in RADOS), keeps the names under the directory and
///   sorts them. The root always exists.
/// - Durability: Ceph acknowledges a write once every OSD of the placement group's
///   acting set has it, so fsync_file() and fsync_dir() send nothing: they only check
///   that the target exists and that this disk has not lost its lock.
/// - Offsets: the disk caches each object's size and version (one stat on first use)
///   and makes every write conditional on that version (assert_version), so a write by
///   anyone else between two of ours fails instead of interleaving silently.
/// - Locking: lock_file() takes an exclusive RADOS lock (a per-lock cookie naming host
///   and process) with a duration, renewed by a background thread. While it is held,
///   every object this disk modifies is first locked with the same cookie (breaking a
///   previous holder's lock on it: the holder of the log lock owns the log's objects)
///   and every modification asserts that lock in the same atomic operation. A second
///   writer gets LockConflict naming the holder. When renewal fails or the lock runs
///   out or an object lock was taken over, the disk is fenced: every later
///   modification and fsync fails with LockConflict, so a writer on it poisons itself.
/// - rename() is not atomic: RADOS cannot rename. It copies the object (one atomic
///   write_full of the target, so the target is old or new, never mixed), then
///   removes the source; a crash in between leaves both.
///
/// Thread-safe. Modifications of one object are serialised (one in flight per object);
/// different objects and reads proceed in parallel.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kaya/core/build_config.h"
#include "kaya/io/disk.h"

namespace kaya::io {

/// Where a RadosDisk keeps its objects and how it locks and connects.
struct KAYA_API RadosDiskOptions {
  /// The pool holding the log's objects (it must exist).
  std::string pool;
  /// Object names are "<prefix>/<relative path>". May hold several components
  /// ("logs/orders"); empty means the objects sit at the top of the namespace.
  std::string prefix;
  /// RADOS namespace within the pool ("" is the default namespace). A namespace per log
  /// keeps list_dir() from scanning other logs' objects.
  std::string object_namespace;
  /// ceph.conf to read; empty means librados's search ($CEPH_CONF, then
  /// /etc/ceph/ceph.conf and the other default places).
  std::string conf_path;
  /// The client id ("admin" is client.admin).
  std::string client_id = "admin";
  /// How long a writer's lock lasts without renewal; a crashed writer's lock is free
  /// again after this long.
  uint32_t lock_duration_ms = 30'000;
  /// How often the lock is renewed (0: a third of lock_duration_ms).
  uint32_t lock_renew_interval_ms = 0;
  /// Largest object the cluster accepts (0: read osd_max_object_size and
  /// osd_max_write_size from the client's configuration, which reads the same ceph.conf
  /// as the OSDs).
  uint64_t max_object_bytes = 0;
  /// Largest single write the cluster accepts (0: read osd_max_write_size).
  uint64_t max_write_bytes = 0;
  /// How long connecting to the monitors may take before open() fails.
  uint32_t connect_timeout_s = 15;
};

/// True when `location` starts with "rados://".
KAYA_API bool is_rados_location(std::string_view location);

/// Parses "rados://POOL/PREFIX[?ns=NAMESPACE]" (PREFIX may hold '/', may be empty) into
/// options whose other fields keep their defaults. InvalidArgument naming the location
/// otherwise.
KAYA_API Result<RadosDiskOptions> parse_rados_location(std::string_view location);

#if KAYA_HAVE_RADOS
/// A Disk over Ceph RADOS objects: see the file comment and docs/durability.md.
class KAYA_API RadosDisk final : public Disk {
 public:
  /// Connects to the cluster and opens the pool. NotFound when the pool does not exist;
  /// Io when the cluster cannot be reached.
  static Result<std::unique_ptr<RadosDisk>> open(const RadosDiskOptions& options);
  ~RadosDisk() override;

  /// The options with the limits resolved.
  const RadosDiskOptions& options() const;

  /// The largest file is the largest object the cluster stores (max_object_bytes).
  /// Writes larger than max_write_bytes are split, so they set no limit. append()
  /// refuses to grow an object past the limit.
  DiskLimits limits() const override;

  /// True once this disk lost its lock (renewal failed, the lock expired or an object
  /// lock was taken over) and refuses every modification.
  bool fenced() const;

  /// Breaks every holder's lock on `path` (what `rados lock break` does): for an
  /// operator or a test that knows the holder is dead and will not wait out its
  /// duration. A holder that is still alive is fenced at its next write.
  Status break_lock(const RelativePath& path);

  using Disk::append;
  Result<uint64_t> append(const RelativePath& path,
                          std::span<const ByteView> parts) override;
  Result<size_t> read_at(const RelativePath& path, uint64_t offset,
                         std::span<uint8_t> out) override;
  Status write_at(const RelativePath& path, uint64_t offset, ByteView bytes) override;
  Result<uint64_t> file_len(const RelativePath& path) override;
  Status truncate(const RelativePath& path, uint64_t len) override;
  /// Ceph acknowledges a write once every OSD of the acting set has it.
  bool writes_are_durable() const override { return true; }
  Status fsync_file(const RelativePath& path) override;
  Status fsync_dir(const RelativePath& dir) override;
  Result<std::vector<std::string>> list_dir(const RelativePath& dir) override;
  Status create_dir(const RelativePath& dir) override;
  Status rename(const RelativePath& from, const RelativePath& to) override;
  Status remove_file(const RelativePath& path) override;
  Result<std::unique_ptr<FileLock>> lock_file(const RelativePath& path) override;
  Result<bool> lock_held(const RelativePath& path) override;
  /// No round trip while this disk's last modification of the object succeeded: every
  /// later write asserts the object's version (and lock), so a removal by anyone else
  /// fails the next write and nothing written after it is acknowledged. Otherwise a
  /// stat (ENOENT: false).
  Result<bool> still_linked(const RelativePath& path) override;
  /// "rados://POOL/PREFIX/PATH" (with "?ns=NAMESPACE" when a namespace is set).
  std::string describe(const RelativePath& path) const override;

  struct KAYA_LOCAL Impl;

 private:
  KAYA_LOCAL explicit RadosDisk(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};
#endif  // KAYA_HAVE_RADOS

}  // namespace kaya::io
