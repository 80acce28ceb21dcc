#!/usr/bin/env bash
# Uses kaya the way other projects would, from the optimised build (build/release,
# scripts/release-build.sh; CI's scripts/check-release.sh has built it):
# 1. the installed tree: libkaya.a, libkaya.so.X.Y.Z (SONAME libkaya.so.0.MINOR while
#    the major version is 0, libkaya.so.MAJOR from 1.0), kaya-wal, the CMake package,
#    kaya.pc, exactly the public headers of include/kaya/ plus the generated
#    kaya/core/build_config.h;
# 2. the shared library exports the public API and nothing internal (nm -D);
# 3. the RADOS backend: build_config.h, the CMake package and the libraries agree on
#    whether the build has it; no library, kaya.pc or package links or depends on
#    librados (a RADOS build loads it at run time and its packages suggest it); without
#    it rados_disk.h declares no RadosDisk (a use fails to compile, not to link);
# 4. examples/consumer built with find_package against the shared library
#    (kaya::kaya) and the static one (kaya::kaya_static), and run;
# 5. find_package's version rules: 0.MINOR is accepted, other minors and 1.0 refused;
# 6. the same consumer built with pkg-config (examples/consumer/Makefile), and run;
# 7. the consumer with kaya's source tree as a subproject (FetchContent from this
#    checkout), which must build the library and nothing that needs GoogleTest;
# 8. the Debian packages (scripts/package.sh): installed with dpkg -i, their names,
#    dependencies and files checked, the consumer built against /usr through
#    find_package and pkg-config and run, then purged with dpkg -P.
# The prefix and the other scratch files are removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/install-deps.sh
build=build/release
work=$(mktemp -d "${TMPDIR:-/tmp}/kaya-install-XXXXXX")
packages=()
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
cleanup() {
  if [ ${#packages[@]} -gt 0 ]; then
    $sudo dpkg -P "${packages[@]}" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
prefix="$work/prefix"

fail() {
  echo "check-install: FAILED: $*" >&2
  exit 1
}

version=$(sed -n 's/^project(kaya VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
IFS=. read -r major minor _ <<<"$version"
if [ "$major" = 0 ]; then soversion="$major.$minor"; else soversion="$major"; fi
echo "== kaya $version: build and install into $prefix (SONAME libkaya.so.$soversion)"
scripts/release-build.sh -DKAYA_DEB_LAYOUT=OFF -- kaya kaya_shared kaya-wal
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name "libkaya.so.$version" -printf '%h\n')
[ -n "$libdir" ] || fail "libkaya.so.$version not installed"

echo "== installed files"
for f in "$libdir/libkaya.a" "$libdir/libkaya.so" "$libdir/libkaya.so.$soversion" \
  "$libdir/cmake/kaya/kayaConfig.cmake" "$libdir/cmake/kaya/kayaConfigVersion.cmake" \
  "$libdir/pkgconfig/kaya.pc" "$prefix/bin/kaya-wal" "$prefix/share/doc/kaya/LICENSE" \
  "$prefix/share/doc/kaya/CHANGELOG.md"; do
  [ -e "$f" ] || fail "$f not installed"
done
soname=$(readelf -d "$libdir/libkaya.so.$version" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = "libkaya.so.$soversion" ] || fail "SONAME is '$soname', not libkaya.so.$soversion"
if ! diff <(cd "$prefix/include" && find . -type f | sort) \
  <( (cd include && find . -type f -name '*.h'; echo ./kaya/core/build_config.h) | sort); then
  fail "the installed headers differ from include/ and build_config.h (see above)"
fi
# Public headers include public headers only (never src/ or tests/).
if grep -rn '#include "' include/kaya | grep -v '#include "kaya/'; then
  fail "a public header includes a non-public header (above)"
fi
"$prefix/bin/kaya-wal" --help >/dev/null || fail "the installed kaya-wal does not run"
echo "headers, libraries, package files and kaya-wal: ok"

echo "== exported symbols (nm -D --defined-only libkaya.so)"
nm -D --defined-only -C "$libdir/libkaya.so.$version" | cut -d' ' -f3- |
  sed -E 's/^(typeinfo name for|typeinfo for|vtable for) //' | sort -u >"$work/symbols"
grep '^kaya::' "$work/symbols" >"$work/kaya-symbols" || true
for wanted in kaya::version kaya::wal::Writer::open kaya::wal::Writer::append \
  kaya::wal::recover kaya::wal::to_prometheus kaya::io::FileDisk::open; do
  grep -qE "^$wanted(\(|\[)" "$work/kaya-symbols" || fail "$wanted is not exported"
done
# Internal classes and functions (src/), and private members of exported classes.
internal='SegmentReader|SegmentCursor|recover_locked|first_lsn_of|find_valid_record|'
internal+='segment_dir\(|::Impl([^A-Za-z0-9_]|$)|anonymous namespace|kaya::tool::|_locked\(|open_impl|'
internal+='write_batch|wait_written|wait_durable|wait_for_companions|sync_as_leader|'
internal+='rotate_to|FaultDisk::(fire|write_fault|injected)|FileDisk::FileDisk'
if grep -E "$internal" "$work/kaya-symbols"; then
  fail "internal symbols are exported (above)"
fi
# Every exported kaya symbol names something declared in a public header.
while IFS= read -r sym; do
  name=${sym%%(*}
  name=$(sed -E 's/^kaya::((wal|io|crc32c|format|json)::)*//; s/[^A-Za-z0-9_].*//' <<<"$name")
  # Through a file, not a pipe: with pipefail, `grep -q` closing the pipe early would
  # fail the first grep (SIGPIPE) once the matches outgrow the pipe's buffer.
  grep -rwh -- "$name" include/kaya >"$work/declared" || true
  if ! grep -qvE "^(class|struct) $name;" "$work/declared"; then
    fail "exported symbol $sym is not declared in include/kaya"
  fi
done <"$work/kaya-symbols"
echo "$(wc -l <"$work/kaya-symbols") kaya symbols exported, none internal;" \
  "$(grep -vc '^kaya::' "$work/symbols" || true) weak std:: instantiations"

echo "== the RADOS backend: headers, CMake package, kaya.pc and libraries agree"
have=$(sed -n 's/^#define KAYA_HAVE_RADOS \([01]\)$/\1/p' "$prefix/include/kaya/core/build_config.h")
[ -n "$have" ] || fail "build_config.h does not define KAYA_HAVE_RADOS as 0 or 1"
grep -q "^set(kaya_HAVE_RADOS $have)$" "$libdir/cmake/kaya/kayaConfig.cmake" ||
  fail "kayaConfig.cmake does not say kaya_HAVE_RADOS $have"
# librados is loaded when a RadosDisk opens, never linked: a program that does not use
# RADOS does not need Ceph installed, nor loads it.
! grep -q -- '-lrados' "$libdir/pkgconfig/kaya.pc" || fail "kaya.pc links librados"
for f in "$libdir/libkaya.so.$version" "$prefix/bin/kaya-wal"; do
  ! readelf -d "$f" | grep -q 'NEEDED.*\[librados' || fail "$f links librados"
done
# Only RADOS builds can say librados.so.2 (the name they load).
so_rados=0
grep -q 'librados\.so\.2' "$libdir/libkaya.so.$version" && so_rados=1
[ "$so_rados" = "$have" ] || fail "libkaya.so's use of librados.so.2 disagrees with KAYA_HAVE_RADOS=$have"
# rados_disk.h declares RadosDisk exactly when the build has it: checked against the
# installed headers, and against a copy whose build_config.h says the other thing.
uses_rados='#include "kaya/io/rados_disk.h"
auto open_rados = &kaya::io::RadosDisk::open;'
declares_rados() {  # INCLUDE_DIR: 1 when the headers there declare RadosDisk
  if c++ -std=c++20 -fsyntax-only -I"$1" -x c++ - <<<"$uses_rados" 2>/dev/null; then
    echo 1
  else
    echo 0
  fi
}
[ "$(declares_rados "$prefix/include")" = "$have" ] ||
  fail "rados_disk.h's RadosDisk disagrees with KAYA_HAVE_RADOS=$have"
cp -r "$prefix/include" "$work/flipped-include"
sed -i "s/^#define KAYA_HAVE_RADOS $have$/#define KAYA_HAVE_RADOS $((1 - have))/" \
  "$work/flipped-include/kaya/core/build_config.h"
[ "$(declares_rados "$work/flipped-include")" = "$((1 - have))" ] ||
  fail "rados_disk.h ignores KAYA_HAVE_RADOS=$((1 - have))"
echo "KAYA_HAVE_RADOS=$have everywhere; rados_disk.h declares RadosDisk only when 1"

run_consumer() {  # NAME BINARY
  local out="$work/$1.out"
  "$2" >"$out" || fail "consumer ($1) exited with $?"
  grep -q "^kaya $version (format version 1): recovered 3 records\$" "$out" ||
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
    -DCMAKE_PREFIX_PATH="$prefix" -DKAYA_CONSUMER_STATIC=$static \
    -DKAYA_CONSUMER_VERSION="$major.$minor" >/dev/null
  cmake --build "$work/consumer-$kind" >/dev/null
  bin="$work/consumer-$kind/consumer"
  ldd "$bin" >"$work/ldd-$kind"
  if [ "$kind" = shared ]; then
    grep -q "libkaya.so.$soversion => $libdir/" "$work/ldd-$kind" ||
      fail "consumer does not use $libdir"
  elif grep -q libkaya "$work/ldd-$kind"; then
    fail "the static consumer loads libkaya.so"
  fi
  run_consumer "find_package, $kind" "$bin"
done

echo "== find_package version rules (SameMinorVersion)"
accepted="$major.$minor"
refused=("$major.$((minor + 1))" "$((major + 1)).0")
[ "$minor" -gt 0 ] && refused+=("$major.$((minor - 1))")
for v in "${refused[@]}"; do
  if cmake -S examples/consumer -B "$work/consumer-v$v" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" -DKAYA_CONSUMER_VERSION="$v" >/dev/null 2>&1; then
    fail "find_package(kaya $v) accepted kaya $version"
  fi
done
echo "find_package(kaya $accepted) accepted, ${refused[*]} refused"

echo "== consumer via pkg-config"
PKG_CONFIG_PATH="$libdir/pkgconfig" make -s -C examples/consumer OUT="$work" \
  "$work/consumer-pkgconfig"
run_consumer "pkg-config, shared" "$work/consumer-pkgconfig"

echo "== consumer with kaya as a subproject (FetchContent from this checkout)"
sub="$work/consumer-subproject"
cmake -S examples/consumer -B "$sub" -G Ninja -DKAYA_CONSUMER_MODE=fetchcontent \
  -DKAYA_CONSUMER_SOURCE_DIR="$root" -DFETCHCONTENT_FULLY_DISCONNECTED=ON >"$work/sub.log" ||
  { cat "$work/sub.log" >&2; fail "configuring the subproject consumer failed"; }
if grep -q '^\(GTest\|benchmark\)_DIR' "$sub/CMakeCache.txt"; then
  fail "kaya as a subproject looked for GoogleTest or Google Benchmark"
fi
ninja -C "$sub" -t targets all >"$work/sub-targets"
for unwanted in kaya-wal kaya_testing wal_bench append_demo; do
  if grep -q "^$unwanted:" "$work/sub-targets"; then
    fail "kaya as a subproject builds $unwanted"
  fi
done
cmake --build "$sub" >/dev/null
ldd "$sub/consumer" | grep -q "libkaya.so.$soversion => $sub/" ||
  fail "the subproject consumer does not use the libkaya.so it built"
run_consumer "subproject, shared" "$sub/consumer"

echo "== Debian packages (scripts/package.sh), installed with dpkg"
for p in "libkaya$soversion" libkaya-dev kaya-wal; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    fail "$p is already installed on this machine; remove it first (dpkg -r $p)"
  fi
done
scripts/package.sh "$work/debs" >"$work/package.log" ||
  { cat "$work/package.log" >&2; fail "scripts/package.sh failed"; }
deb() { echo "$work/debs/$1_${version}_$(dpkg --print-architecture).deb"; }
runtime="libkaya$soversion"
for p in "$runtime" libkaya-dev kaya-wal; do
  [ -f "$(deb "$p")" ] || fail "package $p was not built"
done
depends() { dpkg-deb -f "$(deb "$1")" Depends; }
[[ "$(depends libkaya-dev)" == "$runtime (= $version)"* ]] ||
  fail "libkaya-dev depends on '$(depends libkaya-dev)', not exactly $runtime (= $version)"
for p in "$runtime" kaya-wal; do
  [[ "$(depends "$p")" == *"libc6 ("* && "$(depends "$p")" == *"libstdc++6 ("* ]] ||
    fail "$p's dependencies were not computed: '$(depends "$p")'"
  [[ "$(depends "$p")" != *librados* ]] || fail "$p depends on librados: '$(depends "$p")'"
  rados_suggested=0
  [[ "$(dpkg-deb -f "$(deb "$p")" Suggests)" == *librados2* ]] && rados_suggested=1
  [ "$rados_suggested" = "$have" ] || fail "$p's Suggests disagrees with KAYA_HAVE_RADOS=$have"
done
# The runtime package holds versioned files only, so that two minor versions' runtime
# packages install side by side.
dpkg-deb -c "$(deb "$runtime")" | awk '{print $6}' | grep -v '/$' >"$work/runtime-files"
if grep -v "libkaya\.so\.$soversion\|/doc/$runtime/" "$work/runtime-files"; then
  fail "$runtime holds files another version's runtime package would also hold (above)"
fi
dpkg-deb -I "$(deb "$runtime")" shlibs | grep -q "^libkaya $soversion $runtime " ||
  fail "$runtime has no shlibs entry for libkaya $soversion"
packages=("$runtime" libkaya-dev kaya-wal)
$sudo dpkg -i "$(deb "$runtime")" "$(deb libkaya-dev)" "$(deb kaya-wal)" >/dev/null
[ "$(kaya-wal --version | head -n 1 | cut -d' ' -f2)" = "$version" ] ||
  fail "the installed kaya-wal says '$(kaya-wal --version | head -n 1)'"
cmake -S examples/consumer -B "$work/consumer-deb" -G Ninja \
  -DKAYA_CONSUMER_VERSION="$major.$minor" >/dev/null
cmake --build "$work/consumer-deb" >/dev/null
ldd "$work/consumer-deb/consumer" | grep -q "libkaya.so.$soversion => \(/usr\)\?/lib/" ||
  fail "the consumer built against the packages does not load /usr/lib/.../libkaya.so.$soversion"
run_consumer "Debian packages, find_package" "$work/consumer-deb/consumer"
mkdir -p "$work/deb-pc"
make -s -C examples/consumer OUT="$work/deb-pc" "$work/deb-pc/consumer-pkgconfig"
run_consumer "Debian packages, pkg-config" "$work/deb-pc/consumer-pkgconfig"
$sudo dpkg -P kaya-wal libkaya-dev "$runtime" >/dev/null
packages=()
for p in "$runtime" libkaya-dev kaya-wal; do
  case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" in
    "" | *not-installed) ;;
    *) fail "dpkg -P left $p behind ($(dpkg-query -W -f='${Status}' "$p"))" ;;
  esac
done
[ ! -e "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libkaya.so.$version" ] ||
  fail "dpkg -P left libkaya.so.$version behind"
echo "packages: $(cd "$work/debs" && echo *.deb) installed, used and removed"
echo "check-install: OK"
