#include "io/posix_error.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace kaya::io {

ErrorKind kind_for_errno(int err) {
  switch (err) {
    case ENOENT:
      return ErrorKind::kNotFound;
    case ENOSPC:
    case EDQUOT:
      return ErrorKind::kDiskFull;
    default:
      return ErrorKind::kIo;
  }
}

Error os_error(ErrorKind kind, std::string_view op, const std::string& path, int err) {
  std::string message =
      std::string(op) + " " + path + " failed: " + std::system_category().message(err);
  if (kind == ErrorKind::kDiskFull) message += " (free some space)";
  return Error(kind, std::move(message));
}

Error os_error(std::string_view op, const std::string& path, int err) {
  return os_error(kind_for_errno(err), op, path, err);
}

Error path_error(std::string_view op, const std::string& path, int err) {
  struct stat st;
  if (err != ENOENT || ::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
    return os_error(op, path, err);
  }
  std::string target(4096, '\0');
  const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
  target = n > 0 ? target.substr(0, static_cast<size_t>(n)) : "?";
  return Error(ErrorKind::kIo, std::string(op) + " " + path +
                                   " failed: it is a dangling symbolic link (to " +
                                   target + ", which does not exist)");
}

}  // namespace kaya::io
