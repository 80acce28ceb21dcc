// Where a log lives: a directory (FileDisk) or a RADOS location
// "rados://POOL/PREFIX[?ns=NAMESPACE]" (RadosDisk; the cluster comes from CEPH_CONF).
#pragma once

#include <memory>
#include <string>

#include "kaya/io/disk.h"
#include "kaya/wal/config.h"

namespace kaya::tool {

// Opens `location` for writing a log (a directory is created when absent; Writer::open
// checks the configuration against the disk, e.g. a RADOS cluster's object size).
// Built without librados, a RADOS location is an InvalidArgument saying so.
Result<std::unique_ptr<io::Disk>> open_log_for_write(const std::string& location);

// Opens the existing log at a RADOS location without changing anything: NotFound when
// it holds no wal/ directory.
Result<std::unique_ptr<io::Disk>> open_rados_log(const std::string& location);

}  // namespace kaya::tool
