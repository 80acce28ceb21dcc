#include "core/guard.h"

#include <exception>
#include <new>
#include <stdexcept>

namespace kaya::core {

Error out_of_memory(const std::string& what) noexcept {
  try {
    return Error(ErrorKind::kInternal, "out of memory " + what);
  } catch (...) {
    return out_of_memory();
  }
}

Error error_from_exception() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  } catch (const std::length_error&) {
    // A size no container can hold: memory for it cannot be had either.
    return out_of_memory();
  } catch (const std::exception& e) {
    try {
      return Error(ErrorKind::kInternal,
                   std::string("unexpected exception: ") + e.what());
    } catch (...) {
      return out_of_memory();
    }
  } catch (...) {
    try {
      return Error(ErrorKind::kInternal, "unexpected exception of an unknown type");
    } catch (...) {
      return out_of_memory();
    }
  }
}

}  // namespace kaya::core
