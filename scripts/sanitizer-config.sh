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
  local compiler=()
  if [ "$sanitizer" = address ]; then
    compiler=(-DCMAKE_CXX_COMPILER=clang++-14 -DKAYA_BUILD_SHARED=OFF)
  fi
  # A tree configured with another compiler is started again (CMake cannot switch).
  local want="${compiler[0]#-DCMAKE_CXX_COMPILER=}"
  if [ -f "$build/CMakeCache.txt" ] &&
    ! grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=.*${want:-/c++}\$" "$build/CMakeCache.txt"; then
    rm -rf "$build"
  fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
    -DKAYA_SANITIZE="$sanitizer" -DKAYA_WERROR=ON -DKAYA_BUILD_BENCH=OFF \
    "${compiler[@]}" "$@" >/dev/null
}
