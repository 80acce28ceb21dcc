#include "kaya/io/disk.h"

#include "core/guard.h"

namespace kaya::io {
namespace {

Error bad_path(std::string_view text, std::string_view why) {
  return Error(
      ErrorKind::kInvalidArgument,
      "invalid relative path \"" + std::string(text) + "\": " + std::string(why));
}

}  // namespace

Result<RelativePath> RelativePath::parse(std::string_view text) {
  return core::guard([&]() -> Result<RelativePath> {
    if (text.find('\0') != std::string_view::npos) return bad_path(text, "contains NUL");
    if (!text.empty() && (text.front() == '/' || text.front() == '\\')) {
      return bad_path(text, "absolute paths are not allowed");
    }
    if (text.size() >= 2 && text[1] == ':' &&
        ((text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z'))) {
      return bad_path(text, "drive prefixes are not allowed");
    }
    std::string out;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find_first_of("/\\", start);
      if (end == std::string_view::npos) end = text.size();
      std::string_view part = text.substr(start, end - start);
      if (part == "..") return bad_path(text, "\"..\" is not allowed");
      if (!part.empty() && part != ".") {
        if (!out.empty()) out += '/';
        out += part;
      }
      start = end + 1;
    }
    return RelativePath(std::move(out));
  });
}

RelativePath RelativePath::parent() const {
  size_t slash = path_.rfind('/');
  if (slash == std::string::npos) return RelativePath();
  return RelativePath(path_.substr(0, slash));
}

std::string_view RelativePath::filename() const {
  size_t slash = path_.rfind('/');
  return slash == std::string::npos ? std::string_view(path_)
                                    : std::string_view(path_).substr(slash + 1);
}

Result<RelativePath> RelativePath::join(std::string_view child) const {
  return core::guard([&]() -> Result<RelativePath> {
    KAYA_ASSIGN_OR_RETURN(RelativePath tail, parse(child));
    if (is_root()) return tail;
    if (tail.is_root()) return *this;
    return RelativePath(path_ + "/" + tail.path_);
  });
}

Result<std::unique_ptr<WritableMap>> Disk::map_for_write(const RelativePath& path,
                                                         uint64_t, uint64_t) {
  return Error(ErrorKind::kInternal,
               "map_for_write(" + describe(path) + "): this disk cannot map files");
}

Result<bool> Disk::lock_held(const RelativePath& path) {
  return Error(
      ErrorKind::kInvalidArgument,
      "lock_held(" + describe(path) + "): this disk cannot tell whether a lock is held");
}

Result<bool> Disk::still_linked(const RelativePath& path) {
  auto len = file_len(path);
  if (len.ok()) return true;
  if (len.error().kind() == ErrorKind::kNotFound) return false;
  return std::move(len).error();
}

Result<size_t> read_full(Disk& disk, const RelativePath& path, uint64_t offset,
                         std::span<uint8_t> out) {
  return core::guard([&]() -> Result<size_t> {
    size_t done = 0;
    while (done < out.size()) {
      KAYA_ASSIGN_OR_RETURN(size_t n,
                            disk.read_at(path, offset + done, out.subspan(done)));
      if (n == 0) break;
      done += n;
    }
    return done;
  });
}

}  // namespace kaya::io
