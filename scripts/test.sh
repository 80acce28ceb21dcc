#!/usr/bin/env bash
# Builds kaya and runs every test. The default build runs under AddressSanitizer and
# UBSan (built with clang 14, see scripts/sanitizer-config.sh); `scripts/test.sh thread`
# runs the same tests under ThreadSanitizer.
# Warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizer="${1:-address}"
case "$sanitizer" in
  address|thread) ;;
  *) echo "usage: scripts/test.sh [address|thread]" >&2; exit 4 ;;
esac
scripts/install-deps.sh
build="build/test-$sanitizer"
# shellcheck source=scripts/sanitizer-config.sh
. scripts/sanitizer-config.sh
sanitizer_configure "$sanitizer"
cmake --build "$build"
# halt_on_error: a sanitizer report fails the test that caused it.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
# The RADOS backend's tests (label `rados`) need a cluster: scripts/test-rados.sh.
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" -LE rados
# The figures the crash, kill and simulation tests print (ctest shows test output only
# on failure).
grep -hE "^(crash test|kill test|sim totals)" "$build/Testing/Temporary/LastTest.log" || true
