#include "rados_test_util.h"

#include <unistd.h>

#include <cstdlib>
#include <random>

namespace kaya::rados_testing {

std::string unique_name(std::string_view what) {
  std::random_device random;
  return std::string(what) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(random());
}

io::RadosDiskOptions test_options(std::string_view what) {
  io::RadosDiskOptions options;
  const char* pool = std::getenv("KAYA_CEPH_POOL");
  options.pool = pool != nullptr && *pool != '\0' ? pool : "kaya";
  options.object_namespace = unique_name(what);
  options.prefix = "log";
  options.lock_duration_ms = 3000;
  options.lock_renew_interval_ms = 300;
  options.connect_timeout_s = 10;
  return options;
}

Result<std::unique_ptr<io::RadosDisk>> open_test_disk(
    const io::RadosDiskOptions& options) {
  const char* conf = std::getenv("CEPH_CONF");
  if (conf == nullptr || *conf == '\0') {
    return Error(ErrorKind::kNotFound,
                 "this test needs a Ceph cluster and CEPH_CONF is not set: run it "
                 "through scripts/test-rados.sh");
  }
  auto disk = io::RadosDisk::open(options);
  if (!disk.ok())
    return disk.error().with_context("cluster from CEPH_CONF=" + std::string(conf));
  return disk;
}

}  // namespace kaya::rados_testing
