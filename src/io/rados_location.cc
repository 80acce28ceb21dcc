// "rados://POOL/PREFIX" locations. Compiled with or without librados, so the tool can
// recognise a RADOS location and say when the backend is missing.
#include "core/guard.h"
#include "kaya/io/rados_disk.h"

namespace kaya::io {
namespace {

constexpr std::string_view kScheme = "rados://";

}  // namespace

bool is_rados_location(std::string_view location) {
  return location.substr(0, kScheme.size()) == kScheme;
}

Result<RadosDiskOptions> parse_rados_location(std::string_view location) {
  return core::guard([&]() -> Result<RadosDiskOptions> {
    auto bad = [&](std::string_view why) {
      return Error(ErrorKind::kInvalidArgument,
                   "invalid RADOS location \"" + std::string(location) +
                       "\": " + std::string(why) +
                       " (expected rados://POOL/PREFIX[?ns=NAMESPACE])");
    };
    if (!is_rados_location(location)) return bad("it does not start with rados://");
    std::string_view rest = location.substr(kScheme.size());
    RadosDiskOptions options;
    if (const size_t query = rest.find('?'); query != std::string_view::npos) {
      std::string_view ns = rest.substr(query + 1);
      if (ns.substr(0, 3) != "ns=" || ns.size() == 3)
        return bad("the only option is ?ns=NAMESPACE");
      options.object_namespace = std::string(ns.substr(3));
      rest = rest.substr(0, query);
    }
    const size_t slash = rest.find('/');
    options.pool = std::string(rest.substr(0, slash));
    if (options.pool.empty()) return bad("the pool name is empty");
    if (slash != std::string_view::npos) {
      // The prefix is normalised like a relative path: no "..", no empty components.
      auto prefix = RelativePath::parse(rest.substr(slash + 1));
      if (!prefix.ok()) return bad(prefix.error().message());
      options.prefix = prefix->str();
    }
    return options;
  });
}

}  // namespace kaya::io
