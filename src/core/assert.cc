#include "core/assert.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace kaya::core {
namespace {

#if defined(KAYA_ASSERT_ABORT) && KAYA_ASSERT_ABORT
constexpr bool kAbortByDefault = true;
#else
constexpr bool kAbortByDefault = false;
#endif

std::atomic<bool> abort_on_failure{kAbortByDefault};

// The file's path from the repository's src/ on (the build's absolute path says
// nothing to a user), or the whole path when it has no src/.
const char* short_path(const char* file) {
  const std::string_view path(file);
  const size_t at = path.rfind("/src/");
  return at == std::string_view::npos ? file : file + at + 5;
}

}  // namespace

bool assertions_abort() noexcept {
  return abort_on_failure.load(std::memory_order_relaxed);
}

void set_assertions_abort(bool abort) noexcept {
  abort_on_failure.store(abort, std::memory_order_relaxed);
}

void assertion_abort(const char* file, int line, const char* cond) noexcept {
  std::fprintf(stderr, "kaya: invariant violated at %s:%d: %s\n", short_path(file), line,
               cond);
  std::fflush(stderr);
  std::abort();
}

Error invariant_violated(const char* file, int line, const char* cond) noexcept {
  if (assertions_abort()) assertion_abort(file, line, cond);
  try {
    return Error(ErrorKind::kInvariantViolation,
                 std::string("invariant violated at ") + short_path(file) + ":" +
                     std::to_string(line) + ": " + cond +
                     " (a bug in kaya, or a layer below it breaking its contract)");
  } catch (...) {
    return Error(ErrorKind::kInvariantViolation, "assert failed");  // allocates nothing
  }
}

}  // namespace kaya::core
