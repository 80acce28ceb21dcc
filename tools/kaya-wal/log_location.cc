#include "log_location.h"

#include "kaya/io/file_disk.h"
#include "kaya/io/rados_disk.h"
#include "kaya/wal/format.h"

namespace kaya::tool {
namespace {

Result<std::unique_ptr<io::Disk>> open_rados(const std::string& location) {
  KAYA_ASSIGN_OR_RETURN(io::RadosDiskOptions options, io::parse_rados_location(location));
#if KAYA_HAVE_RADOS
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::RadosDisk> disk,
                        io::RadosDisk::open(options));
  return std::unique_ptr<io::Disk>(std::move(disk));
#else
  (void)options;
  return Error(ErrorKind::kInvalidArgument,
               "cannot open " + location +
                   ": kaya-wal was built without the RADOS backend (librados not found "
                   "at build time; install it with scripts/install-ceph.sh and rebuild)");
#endif
}

}  // namespace

Result<std::unique_ptr<io::Disk>> open_log_for_write(const std::string& location) {
  if (!io::is_rados_location(location)) {
    KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::FileDisk> disk,
                          io::FileDisk::open(location, /*create=*/true));
    return std::unique_ptr<io::Disk>(std::move(disk));
  }
  // Writer::open checks the configuration against the cluster's limits.
  return open_rados(location);
}

Result<std::unique_ptr<io::Disk>> open_rados_log(const std::string& location) {
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::Disk> disk, open_rados(location));
  const auto wal_dir = io::RelativePath::parse(wal::format::kSegmentDir).value();
  auto entries = disk->list_dir(wal_dir);
  if (!entries.ok() && entries.error().kind() == ErrorKind::kNotFound) {
    return Error(ErrorKind::kNotFound,
                 location + " holds no kaya log (no wal/ directory in it)");
  }
  if (!entries.ok()) return entries.error();
  return disk;
}

}  // namespace kaya::tool
