#include "io/librados.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace kaya::io {
namespace {

Librados loaded;
std::once_flag load_once;
Status load_status = ok_status();

}  // namespace

Result<Librados> open_librados(const char* soname) {
  void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Error(ErrorKind::kIo, std::string("the RADOS backend needs ") + soname +
                                     ", which this process cannot load: " +
                                     (why ? why : "unknown error") +
                                     " (on Debian, install the librados2 package)");
  }
  Librados functions;
  const char* missing = nullptr;
#define KAYA_LIBRADOS_LOOKUP(name)                                              \
  if (missing == nullptr) {                                                     \
    functions.name = reinterpret_cast<decltype(&::name)>(dlsym(handle, #name)); \
    if (functions.name == nullptr) missing = #name;                             \
  }
  KAYA_LIBRADOS_FUNCTIONS(KAYA_LIBRADOS_LOOKUP)
#undef KAYA_LIBRADOS_LOOKUP
  if (missing != nullptr) {
    dlclose(handle);
    return Error(ErrorKind::kIo, std::string("the RADOS backend cannot use ") + soname +
                                     ": it has no function " + missing +
                                     " (kaya needs the librados of Ceph 14 or later)");
  }
  return functions;
}

Status load_librados() {
  try {
    std::call_once(load_once, [] {
      Result<Librados> functions = open_librados(kLibradosSoname);
      if (functions.ok()) {
        loaded = *functions;
      } else {
        load_status = functions.error();
      }
    });
  } catch (...) {
    return Error(ErrorKind::kInternal, "loading librados failed: out of memory");
  }
  return load_status;
}

const Librados& librados() { return loaded; }

}  // namespace kaya::io
