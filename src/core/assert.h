// Asserted invariants (internal: not installed, not exported).
//
// An invariant that a comment states gets an assertion next to the code that changes
// it. kaya's assertions are comparisons of a few integers, cheap enough to stay on in
// every build where they guard durability (LSN contiguity, durable <= written < next,
// offsets and lengths), so there are two forms only:
//
// - KAYA_ASSERT(cond): checked in every build, in a function that returns a Status or
//   a Result<T>. When `cond` is false:
//     * in a build with KAYA_ASSERT_ABORT (Debug and sanitizer builds, where the tests
//       run: src/CMakeLists.txt), a line "kaya: invariant violated at FILE:LINE:
//       COND" on stderr, then abort();
//     * otherwise (Release) the function returns InvariantViolation "invariant violated
//       at FILE:LINE: COND". The writer treats it like any failure on its path: it
//       poisons itself with that error (every later append fails with it) and the
//       process goes on. A library never aborts its host in release.
// - KAYA_ASSERT_ELSE(cond, handler): the same, but the function returns
//   `handler(error)` instead of the error: the writer's form, whose handler poisons the
//   writer with the error first (Sequencer::poison_with_locked). Works in a function
//   returning void too when the handler does.
// - KAYA_DEBUG_ASSERT(cond): checked only with KAYA_ASSERT_ABORT (aborts there),
//   compiled out elsewhere; for checks that cannot return an error (noexcept paths)
//   or cost more than a comparison. `cond` is never evaluated in Release, yet still
//   compiled.
#pragma once

#include "kaya/core/status.h"

namespace kaya::core {

// Whether a failed KAYA_ASSERT aborts: the build's choice (KAYA_ASSERT_ABORT) unless a
// test changed it with set_assertions_abort().
bool assertions_abort() noexcept;
// For tests only: a test of the release behaviour turns aborting off in a debug build
// (and back on). Process-wide; read only when an assertion fails.
void set_assertions_abort(bool abort) noexcept;

// What a failed assertion does: when assertions_abort(), prints the failure and aborts;
// otherwise returns InvariantViolation naming `file`, `line` and `cond` (never throws:
// out of memory for the message, the text is "assert failed" alone).
Error invariant_violated(const char* file, int line, const char* cond) noexcept;

// The abort of KAYA_DEBUG_ASSERT (and of KAYA_ASSERT when assertions abort).
[[noreturn]] void assertion_abort(const char* file, int line, const char* cond) noexcept;

}  // namespace kaya::core

#define KAYA_ASSERT(cond)                                                 \
  do {                                                                    \
    if (!(cond)) [[unlikely]] {                                           \
      return ::kaya::core::invariant_violated(__FILE__, __LINE__, #cond); \
    }                                                                     \
  } while (0)

#define KAYA_ASSERT_ELSE(cond, handler)                                            \
  do {                                                                             \
    if (!(cond)) [[unlikely]] {                                                    \
      return handler(::kaya::core::invariant_violated(__FILE__, __LINE__, #cond)); \
    }                                                                              \
  } while (0)

#if defined(KAYA_ASSERT_ABORT) && KAYA_ASSERT_ABORT
#define KAYA_DEBUG_ASSERT(cond)                                 \
  do {                                                          \
    if (!(cond)) [[unlikely]] {                                 \
      ::kaya::core::assertion_abort(__FILE__, __LINE__, #cond); \
    }                                                           \
  } while (0)
#else
#define KAYA_DEBUG_ASSERT(cond)         \
  do {                                  \
    if (false) static_cast<void>(cond); \
  } while (0)
#endif
