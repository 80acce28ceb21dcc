#include "exit_codes.h"

namespace kaya::tool {

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNotFound:
      return 2;
    case ErrorKind::kCorruption:
      return 3;
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kUnsupportedVersion:
      return 4;
    case ErrorKind::kInvariantViolation:
      return 5;
    case ErrorKind::kLockConflict:
      return 6;
    case ErrorKind::kIo:
    case ErrorKind::kDiskFull:
    case ErrorKind::kFsyncFailed:
    case ErrorKind::kInternal:
      return 1;
  }
  return 1;
}

}  // namespace kaya::tool
