#!/usr/bin/env bash
# Installs kaya into a temporary prefix and uses it the way another project would:
# 1. the installed tree: libkaya.a, libkaya.so.0.1.0 (SONAME libkaya.so.0), kaya-wal,
#    the CMake package, kaya.pc, and exactly the public headers of include/kaya/;
# 2. the shared library exports the public API and nothing internal (nm -D);
# 3. examples/consumer built with find_package against the shared library
#    (kaya::kaya) and the static one (kaya::kaya_static), and run;
# 4. find_package's version rules: 0.1 is accepted, 0.2 and 1.0 are refused;
# 5. the same consumer built with pkg-config (examples/consumer/Makefile), and run.
# The build directory is build/install; the prefix is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/install-deps.sh
build=build/install
work=$(mktemp -d "${TMPDIR:-/tmp}/kaya-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

fail() {
  echo "check-install: FAILED: $*" >&2
  exit 1
}

echo "== build and install into $prefix"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAYA_BUILD_TESTS=OFF \
  -DKAYA_BUILD_BENCH=OFF -DKAYA_WERROR=ON >/dev/null
cmake --build "$build"
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name 'libkaya.so.0.1.0' -printf '%h\n')
[ -n "$libdir" ] || fail "libkaya.so.0.1.0 not installed"

echo "== installed files"
for f in "$libdir/libkaya.a" "$libdir/libkaya.so" "$libdir/libkaya.so.0" \
  "$libdir/cmake/kaya/kayaConfig.cmake" "$libdir/cmake/kaya/kayaConfigVersion.cmake" \
  "$libdir/pkgconfig/kaya.pc" "$prefix/bin/kaya-wal" "$prefix/share/doc/kaya/LICENSE" \
  "$prefix/share/doc/kaya/CHANGELOG.md"; do
  [ -e "$f" ] || fail "$f not installed"
done
soname=$(readelf -d "$libdir/libkaya.so.0.1.0" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libkaya.so.0 ] || fail "SONAME is '$soname', not libkaya.so.0"
if ! diff <(cd "$prefix/include" && find . -type f | sort) \
  <(cd include && find . -type f -name '*.h' | sort); then
  fail "the installed headers differ from include/ (see above)"
fi
# Public headers include public headers only (never src/ or tests/).
if grep -rn '#include "' include/kaya | grep -v '#include "kaya/'; then
  fail "a public header includes a non-public header (above)"
fi
"$prefix/bin/kaya-wal" --help >/dev/null || fail "the installed kaya-wal does not run"
echo "headers, libraries, package files and kaya-wal: ok"

echo "== exported symbols (nm -D --defined-only libkaya.so)"
nm -D --defined-only -C "$libdir/libkaya.so.0.1.0" | cut -d' ' -f3- |
  sed -E 's/^(typeinfo name for|typeinfo for|vtable for) //' | sort -u >"$work/symbols"
grep '^kaya::' "$work/symbols" >"$work/kaya-symbols" || true
for wanted in kaya::version kaya::wal::Writer::open kaya::wal::Writer::append \
  kaya::wal::recover kaya::wal::to_prometheus kaya::io::FileDisk::open; do
  grep -qE "^$wanted(\(|\[)" "$work/kaya-symbols" || fail "$wanted is not exported"
done
# Internal classes and functions (src/), and private members of exported classes.
internal='SegmentReader|SegmentCursor|recover_locked|first_lsn_of|find_valid_record|'
internal+='segment_dir\(|::Impl|anonymous namespace|kaya::tool::|_locked\(|open_impl|'
internal+='write_batch|wait_written|wait_durable|wait_for_companions|sync_as_leader|'
internal+='rotate_to|FaultDisk::(fire|write_fault|injected)|FileDisk::FileDisk'
if grep -E "$internal" "$work/kaya-symbols"; then
  fail "internal symbols are exported (above)"
fi
# Every exported kaya symbol names something declared in a public header.
while IFS= read -r sym; do
  name=${sym%%(*}
  name=$(sed -E 's/^kaya::((wal|io|crc32c|format)::)*//; s/[^A-Za-z0-9_].*//' <<<"$name")
  # Through a file, not a pipe: with pipefail, `grep -q` closing the pipe early would
  # fail the first grep (SIGPIPE) once the matches outgrow the pipe's buffer.
  grep -rwh -- "$name" include/kaya >"$work/declared" || true
  if ! grep -qvE "^(class|struct) $name;" "$work/declared"; then
    fail "exported symbol $sym is not declared in include/kaya"
  fi
done <"$work/kaya-symbols"
echo "$(wc -l <"$work/kaya-symbols") kaya symbols exported, none internal;" \
  "$(grep -vc '^kaya::' "$work/symbols" || true) weak std:: instantiations"

run_consumer() {  # NAME BINARY
  local out="$work/$1.out"
  "$2" >"$out" || fail "consumer ($1) exited with $?"
  grep -q '^kaya 0.1.0 (format version 1): recovered 3 records$' "$out" ||
    fail "consumer ($1) printed an unexpected first line: $(head -n 1 "$out")"
  grep -q '^kaya_recovery_records 3$' "$out" ||
    fail "consumer ($1) printed no kaya_recovery_records 3"
  echo "consumer ($1): $(head -n 1 "$out"), $(grep -c '^# TYPE' "$out") metric families"
}

echo "== consumer via find_package"
for kind in shared static; do
  static=OFF
  [ "$kind" = static ] && static=ON
  cmake -S examples/consumer -B "$work/consumer-$kind" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" -DKAYA_CONSUMER_STATIC=$static >/dev/null
  cmake --build "$work/consumer-$kind" >/dev/null
  bin="$work/consumer-$kind/consumer"
  ldd "$bin" >"$work/ldd-$kind"
  if [ "$kind" = shared ]; then
    grep -q "libkaya.so.0 => $libdir/" "$work/ldd-$kind" || fail "consumer does not use $libdir"
  elif grep -q libkaya "$work/ldd-$kind"; then
    fail "the static consumer loads libkaya.so"
  fi
  run_consumer "find_package, $kind" "$bin"
done

echo "== find_package version rules (SameMinorVersion)"
for version in 0.2 1.0; do
  if cmake -S examples/consumer -B "$work/consumer-v$version" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" -DKAYA_CONSUMER_VERSION=$version >/dev/null 2>&1; then
    fail "find_package(kaya $version) accepted kaya 0.1.0"
  fi
done
echo "find_package(kaya 0.1) accepted, 0.2 and 1.0 refused"

echo "== consumer via pkg-config"
PKG_CONFIG_PATH="$libdir/pkgconfig" make -s -C examples/consumer OUT="$work" \
  "$work/consumer-pkgconfig"
run_consumer "pkg-config, shared" "$work/consumer-pkgconfig"
echo "check-install: OK"
