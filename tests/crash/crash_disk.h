// The disk of the kill test's log: a directory (FileDisk) or, when the test runs on
// the RADOS backend (KAYA_CRASH_RADOS_POOL set), a location "rados://POOL/log?ns=...".
#pragma once

#include <memory>
#include <string>

#include "kaya/io/file_disk.h"
#include "kaya/io/rados_disk.h"

namespace kaya::crash {

inline Result<std::unique_ptr<io::Disk>> open_crash_disk(const std::string& location,
                                                         bool create) {
#if KAYA_HAVE_RADOS
  if (io::is_rados_location(location)) {
    KAYA_ASSIGN_OR_RETURN(io::RadosDiskOptions options,
                          io::parse_rados_location(location));
    KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::RadosDisk> disk,
                          io::RadosDisk::open(options));
    return std::unique_ptr<io::Disk>(std::move(disk));
  }
#endif
  KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::FileDisk> disk,
                        io::FileDisk::open(location, create));
  return std::unique_ptr<io::Disk>(std::move(disk));
}

// After a SIGKILL: on RADOS the dead client's lock would last its whole duration (30
// s), so the test breaks it, as an operator who knows the writer is dead would. A
// file lock dies with its process: nothing to do.
inline Status release_dead_writer(const std::string& location) {
#if KAYA_HAVE_RADOS
  if (io::is_rados_location(location)) {
    KAYA_ASSIGN_OR_RETURN(std::unique_ptr<io::Disk> disk,
                          open_crash_disk(location, false));
    return static_cast<io::RadosDisk&>(*disk).break_lock(
        io::RelativePath::parse("wal/LOCK").value());
  }
#endif
  (void)location;
  return ok_status();
}

}  // namespace kaya::crash
