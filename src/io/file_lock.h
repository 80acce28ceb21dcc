// FileDisk's writer lock: flock on the lock file and on the directory holding it.
//
// The lock file alone is not enough: a flock belongs to the file, not to its name, so
// once someone removes or replaces `wal/LOCK` a second writer creates a new file and
// locks that. The directory cannot be removed while it holds the log, so its flock,
// through a descriptor kept open for the lock's life, excludes that second writer. The
// lock file keeps its own flock so that writers of kaya 0.1, which lock only the file,
// and this one still exclude each other.
#pragma once

#include <memory>
#include <string>

#include "kaya/core/status.h"
#include "kaya/io/disk.h"

namespace kaya::io {

// Takes an exclusive flock on the directory `dir` and then on the file `path` in it
// (created when absent; never through a symbolic link). LockConflict naming the path
// when another holder has either. Full paths.
Result<std::unique_ptr<FileLock>> lock_file_and_dir(const std::string& dir,
                                                    const std::string& path);

// Whether /proc/locks lists a held flock on `path` (when it exists) or on `dir`.
Result<bool> file_or_dir_locked(const std::string& dir, const std::string& path);

}  // namespace kaya::io
