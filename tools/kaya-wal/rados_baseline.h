// The raw store under `kaya-wal bench` on a RADOS location: plain synchronous
// rados_append() calls to objects of the log's pool and namespace, for the baseline
// that kaya's figures are set against.
//
// Independent of kaya's RADOS code on purpose: a baseline measured through RadosDisk
// would carry RadosDisk's own costs. This module loads librados.so.2 itself (dlopen,
// like the library, so that kaya-wal does not link librados: a process linking it pays
// for Ceph's static state at every exit, and the tests start kaya-wal hundreds of
// times) and looks up only the functions it calls.
//
// Compiled only in builds with the RADOS backend (KAYA_HAVE_RADOS); without it, bench
// refuses a RADOS location before it gets here.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kaya/core/status.h"
#include "kaya/wal/config.h"

namespace kaya::tool {

class RadosBaseline {
 public:
  // A new object is started when the current one reaches this size, as kaya starts a
  // new segment (run_kaya uses the default wal::WalConfig); RADOS refuses objects over
  // osd_max_object_size (128 MiB by default).
  static constexpr uint64_t kObjectBytes = wal::WalConfig::kDefaultSegmentMaxBytes;

  // Loads librados.so.2, connects to the cluster of `location` (a rados:// location
  // as parse_rados_location() reads it) the way RadosDisk does (its conf_path, else
  // librados's search: $CEPH_CONF, /etc/ceph/ceph.conf, ...; then $CEPH_ARGS; the same
  // connect timeout) and opens its pool and namespace. Nothing is written yet. The
  // errors name the library, cluster or pool and librados's error.
  static Result<std::unique_ptr<RadosBaseline>> connect(const std::string& location);
  // Removes the objects (best effort: remove_objects() reports errors) and
  // disconnects.
  ~RadosBaseline();
  RadosBaseline(const RadosBaseline&) = delete;
  RadosBaseline& operator=(const RadosBaseline&) = delete;

  // One synchronous rados_append() of `bytes` to the object that holds byte `offset`
  // of the run (offset / kObjectBytes: the caller hands out offsets from a shared
  // counter). Returns when every OSD of the placement group's acting set has the
  // bytes. Thread-safe.
  Status append(uint64_t offset, std::string_view bytes);

  // Removes every object append() wrote to (one missing already is no error).
  // Thread-safe, also next to append() and with itself (e.g. from a signal watcher
  // while the run winds down); a call after a complete one does nothing.
  Status remove_objects();

  // The name of the n-th object: "<prefix>/bench-baseline-<pid>-<random>-<n>" (no
  // prefix: no "<prefix>/") in the location's namespace.
  std::string object_name(uint64_t n) const;
  // "rados://POOL/OBJECT[?ns=NAMESPACE]", for messages.
  std::string describe(uint64_t n) const;
  // How many objects append() wrote to.
  uint64_t objects_used() const { return objects_used_.load(); }

  struct Impl;

 private:
  explicit RadosBaseline(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  // One more than the highest object index append() started to write.
  std::atomic<uint64_t> objects_used_{0};
};

}  // namespace kaya::tool
