// kaya-wal's exit codes (docs/tool.md, "Exit codes and errors"): 0 for success, and
// for an error the code of its kind. The library's ErrorKind says what went wrong;
// which number a process exits with is the tool's choice, made here.
#pragma once

#include "kaya/core/status.h"

namespace kaya::tool {

inline constexpr int kExitOk = 0;

// 1 I/O (Io, DiskFull, FsyncFailed, Internal), 2 NotFound, 3 Corruption,
// 4 InvalidArgument and UnsupportedVersion, 5 InvariantViolation, 6 LockConflict.
int exit_code_for(ErrorKind kind);

}  // namespace kaya::tool
