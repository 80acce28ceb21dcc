// Errors of FileDisk's system calls: errno to an error kind, and messages that name the
// full path and the errno text ("<op> <path> failed: <strerror>").
#pragma once

#include <string>
#include <string_view>

#include "kaya/core/status.h"

namespace kaya::io {

// ENOENT -> NotFound, ENOSPC/EDQUOT -> DiskFull, anything else -> Io.
ErrorKind kind_for_errno(int err);

// "<op> <path> failed: <strerror>" (plus a hint when the disk is full).
Error os_error(ErrorKind kind, std::string_view op, const std::string& path, int err);
Error os_error(std::string_view op, const std::string& path, int err);

// os_error() for a call on `path` that failed with `err`, except when `err` is ENOENT
// and `path` itself is a symbolic link whose target is missing: then an Io error that
// names the link and its target. A dangling link where a file should be is damage to
// report, not a file that is absent (which readers take for a released segment).
Error path_error(std::string_view op, const std::string& path, int err);

}  // namespace kaya::io
