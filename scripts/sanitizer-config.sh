# Sourced by scripts/test.sh and scripts/test-rados.sh: configures the sanitizer build
# of $1 (address or thread) in build/test-$1, so that both scripts share one build.
# AddressSanitizer + UBSan builds with clang 14: it compiles this build in about two
# thirds of GCC 12's time (3:58 against 5:53 for every target on 2 cores), and GCC 12
# still builds and runs everything in Release (scripts/check-release.sh). clang's
# sanitizer runtimes are static, so that build has no shared library (nothing tests it
# there: scripts/check-install.sh checks the Release one). ThreadSanitizer stays with
# GCC: clang's runtime defines operator new, which the allocation-failure tests
# replace. -g1: line tables only, enough for the sanitizers' stack traces (file and
# line), and about a tenth less compile time than -g. The benchmarks are left out: no
# test runs them, and scripts/check-release.sh builds them with both compilers.
# Extra arguments are passed to cmake.
sanitizer_configure() {  # address|thread [cmake args...]
  local sanitizer="$1"
  shift
  local build="build/test-$sanitizer"
  local want=c++ compiler=()
  if [ "$sanitizer" = address ]; then
    want=clang++-14
    # By its full path: CMake takes another spelling of the same compiler for a new
    # one and starts the tree again.
    compiler=(-DCMAKE_CXX_COMPILER="$(command -v "$want")" -DKAYA_BUILD_SHARED=OFF)
  fi
  # A tree configured with another compiler is started again (CMake cannot switch).
  local cached=""
  if [ -f "$build/CMakeCache.txt" ]; then
    cached=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
  fi
  if [ -n "$cached" ] && [ "$(basename "$cached")" != "$want" ]; then
    echo "$build was configured with $cached: configuring it again with $want"
    rm -rf "$build"
  fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
    -DKAYA_SANITIZE="$sanitizer" -DKAYA_WERROR=ON -DKAYA_BUILD_BENCH=OFF \
    "${compiler[@]}" "$@" >/dev/null
}
