// No exception crosses kaya's API: every public entry point runs its body through
// guard(), which turns an exception into an Error. Out of memory (std::bad_alloc,
// std::length_error) becomes Internal "out of memory"; anything else (a
// std::system_error from creating a thread, a std::filesystem_error, ...) Internal
// naming what was thrown. Internal: not installed, not exported.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "kaya/core/status.h"

namespace kaya::core {

// Internal "out of memory". The message fits in std::string's inline buffer, so making
// this error allocates nothing.
inline Error out_of_memory() { return Error(ErrorKind::kInternal, "out of memory"); }

// Whether `error` says memory (or address space) ran out: Internal, its message
// starting with "out of memory".
inline bool is_out_of_memory(const Error& error) {
  return error.kind() == ErrorKind::kInternal &&
         error.message().starts_with("out of memory");
}

// Out of memory while doing `what` (e.g. "reading a record of 104857600 bytes at offset
// 0 of wal/0000000000000001.wal"): the message names it when memory allows, and is
// plain "out of memory" when it does not.
Error out_of_memory(const std::string& what) noexcept;
template <typename Describe>
Error out_of_memory_while(Describe&& describe) noexcept {
  try {
    return out_of_memory(describe());
  } catch (...) {
    return out_of_memory();
  }
}

// The exception being handled, as an Error. Call only inside a catch block.
Error error_from_exception() noexcept;

// `f()` (a Result<T> or a Status), or the exception it threw as an Error.
template <typename F>
auto guard(F&& f) noexcept -> std::invoke_result_t<F> {
  try {
    return std::forward<F>(f)();
  } catch (...) {
    return error_from_exception();
  }
}

// `f()` for calls that return a plain value and have no way to report an error (text
// for people, metrics): `fallback` when it throws (e.g. an empty string, which
// allocates nothing).
template <typename F, typename T = std::invoke_result_t<F>>
T guard_value(F&& f, T fallback = T()) noexcept {
  try {
    return std::forward<F>(f)();
  } catch (...) {
    return fallback;
  }
}

// `error` with `context()` in front of its message, or `error` alone when memory runs
// out building it (and "out of memory" when it runs out copying that): for the failure
// paths that must not throw.
template <typename Context>
Error with_context_or_same(const Error& error, Context&& context) noexcept {
  try {
    return error.with_context(context());
  } catch (...) {
    try {
      return error;
    } catch (...) {
      return out_of_memory();
    }
  }
}

}  // namespace kaya::core
