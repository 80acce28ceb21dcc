#include "kaya/core/status.h"

#include <cstdio>
#include <cstdlib>

namespace kaya {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNotFound:
      return "NotFound";
    case ErrorKind::kCorruption:
      return "Corruption";
    case ErrorKind::kInvalidArgument:
      return "InvalidArgument";
    case ErrorKind::kUnsupportedVersion:
      return "UnsupportedVersion";
    case ErrorKind::kInvariantViolation:
      return "InvariantViolation";
    case ErrorKind::kLockConflict:
      return "LockConflict";
    case ErrorKind::kIo:
      return "Io";
    case ErrorKind::kDiskFull:
      return "DiskFull";
    case ErrorKind::kFsyncFailed:
      return "FsyncFailed";
    case ErrorKind::kInternal:
      return "Internal";
  }
  return "Unknown";
}

// Deprecated (removed in 0.3), kept as it was: the tool's own mapping is
// tools/kaya-wal/exit_codes.cc (exit_code_for), which the tool uses.
int exit_code(ErrorKind kind) {
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

std::string Error::to_string() const {
  std::string out(kaya::to_string(kind_));
  out += ": ";
  out += message_;
  return out;
}

Error Error::with_context(std::string_view context) const {
  std::string message(context);
  message += ": ";
  message += message_;
  return Error(kind_, std::move(message));
}

namespace detail {

void bad_result_access(const char* accessor, const Error* error) noexcept {
  // No allocation: the process may be out of memory.
  if (error != nullptr) {
    const std::string_view kind = to_string(error->kind());
    std::fprintf(stderr,
                 "kaya: %s called on a Result holding an error (%.*s: %s); check ok() "
                 "first\n",
                 accessor, static_cast<int>(kind.size()), kind.data(),
                 error->message().c_str());
  } else {
    std::fprintf(stderr, "kaya: %s called on a Result holding no error\n", accessor);
  }
  std::abort();
}

}  // namespace detail
}  // namespace kaya
