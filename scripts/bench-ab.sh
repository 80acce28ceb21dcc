#!/usr/bin/env bash
# Old against new: builds bench/wal_bench of an older revision (a `git archive` copy in
# build/ab/old-src, so the repository gains no worktree) and of this checkout, both in
# Release with the same flags (build/ab/old, build/ab/new), then runs the two binaries
# interleaved, old, new, new, old, old, new, ... (N runs each), on the same directory,
# and prints per case each side's median, new/old (target >= 0.97) and every run's
# figure. Each run also measures kaya's baseline (wal_bench's own), so the table shows
# each side's median ratio to the baseline of its own runs as well, and the median of
# the per-pair ratios new-i/old-i: both are what to read when the disk drifted between
# runs. The order alternates within pairs so that a disk slowing down or speeding up
# during the run favours neither side.
#
#   scripts/bench-ab.sh [--old REV] [--runs N] [--seconds S] [--cases LIST] [--out DIR]
#   scripts/bench-ab.sh --rados POOL [--old REV] [--runs N] [--records R] [--out DIR]
#
# Defaults: REV e33dd87 (the last commit before the recovery point), N 5, S 2 (per
# case and contestant; see wal_bench --help), LIST strict1,strict64,relaxed1, DIR
# build/ab/results-<time> (one wal_bench JSON document per run: old-1.json, new-1.json,
# ...). About 16 s per run with the default cases.
# KAYA_BENCH_DIR picks the directory benchmarked (default: a temporary one under
# $TMPDIR or /tmp). CXXFLAGS is added to both builds (e.g. a -Wno-error=... that a
# compiler needs).
#
# --rados POOL measures strict appends from 1 thread on RADOS instead (every write a
# network round trip): `kaya-wal bench --threads 1 --records R` (default 2000) of each
# side into a new log rados://POOL/kaya-ab-<time>-<side>-<run>, interleaved the same
# way, and prints both medians and new/old. Needs CEPH_CONF pointing at the cluster
# (scripts/ceph-cluster.sh env) and kaya built with the RADOS backend.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() {
  echo "usage: scripts/bench-ab.sh [--old REV] [--runs N] [--seconds S] [--cases LIST]" \
    "[--out DIR]" >&2
  exit 4
}
old_rev=e33dd87
runs=5
seconds=2
cases=strict1,strict64,relaxed1
out=""
rados_pool=""
records=2000
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
    --old) old_rev="$2" ;;
    --runs) runs="$2" ;;
    --seconds) seconds="$2" ;;
    --cases) cases="$2" ;;
    --out) out="$2" ;;
    --rados) rados_pool="$2" ;;
    --records) records="$2" ;;
    *) usage ;;
  esac
  shift 2
done
scripts/install-deps.sh
scripts/install-deps.sh jq

old_sha=$(git rev-parse --verify "$old_rev^{commit}")
new_desc="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo "+changes")"
old_src=build/ab/old-src
if [ "$(cat "$old_src/.kaya-ab-rev" 2>/dev/null)" != "$old_sha" ]; then
  rm -rf "$old_src"
  mkdir -p "$old_src"
  git archive "$old_sha" | tar -x -C "$old_src"
  echo "$old_sha" >"$old_src/.kaya-ab-rev"
fi
target=wal_bench
rados_flag=()
if [ -n "$rados_pool" ]; then
  target=kaya-wal
  rados_flag=(-DKAYA_WITH_RADOS=ON)
fi
build() {  # source dir, build dir
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAYA_BUILD_TESTS=OFF \
    -DKAYA_WERROR=ON -DCMAKE_CXX_FLAGS="${CXXFLAGS:-}" "${rados_flag[@]}" >/dev/null
  cmake --build "$2" -j "$(nproc)" --target "$target"
}
build "$old_src" build/ab/old
build . build/ab/new

stamp=$(date +%Y%m%d-%H%M%S)
out="${out:-build/ab/results-$stamp}"
mkdir -p "$out"

if [ -n "$rados_pool" ]; then
  echo "old: $old_rev ($old_sha), new: $new_desc; $runs runs each, interleaved;" \
    "kaya-wal bench --dir rados://$rados_pool/... --threads 1 --records $records"
  for i in $(seq 1 "$runs"); do
    for side in old new; do
      echo "run $i: $side (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
      "build/ab/$side/tools/kaya-wal/kaya-wal" bench \
        --dir "rados://$rados_pool/kaya-ab-$stamp-$side-$i" --threads 1 \
        --records "$records" --json >"$out/$side-$i.json"
    done
  done
  echo
  jq -n -r --arg out "$out" '
    def median: sort | if length % 2 == 1 then .[length / 2 | floor]
                       else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def r2: "\(. * 100 | round / 100)x";
    [inputs] as $docs
    | [range(0; $docs | length; 2) as $i | $docs[$i].kaya.records_per_s] as $old
    | [range(1; $docs | length; 2) as $i | $docs[$i].kaya.records_per_s] as $new
    | ($old | median) as $om | ($new | median) as $nm
    | "case | old median | new median | new/old | target | old runs | new runs",
      "--- | --- | --- | --- | --- | --- | ---",
      "rados strict 1T | \($om | round) rec/s | \($nm | round) rec/s | \($nm / $om | r2)"
        + " | >= 0.97x | \($old | map(round) | join(", ")) | \($new | map(round) | join(", "))",
      "",
      "raw: \($out)/{old,new}-N.json"
  ' $(for i in $(seq 1 "$runs"); do echo "$out/old-$i.json" "$out/new-$i.json"; done)
  exit 0
fi
dir_flag=()
[ -n "${KAYA_BENCH_DIR:-}" ] && dir_flag=(--dir "$KAYA_BENCH_DIR")
echo "old: $old_rev ($old_sha), new: $new_desc; $runs runs each, interleaved;" \
  "wal_bench --runs 1 --seconds $seconds --cases $cases ${dir_flag[*]}"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# strict1 runs for S seconds on both sides: a wal_bench that counts its appends
# instead (--records) is told not to.
by_time() {  # side
  if "build/ab/$1/bench/wal_bench" --help 2>&1 | grep -q -- '--records'; then
    echo --records 0
  fi
}
for i in $(seq 1 "$runs"); do
  order="old new"
  [ $((i % 2)) -eq 0 ] && order="new old"
  for side in $order; do
    echo "run $i: $side (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    # shellcheck disable=SC2046
    "build/ab/$side/bench/wal_bench" --runs 1 --seconds "$seconds" --cases "$cases" \
      $(by_time "$side") --json "${dir_flag[@]}" >"$out/$side-$i.json"
  done
done

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
# One line per case (those in rec/s): medians, ratios and the runs in order.
jq -n -r --argjson runs "$runs" --arg out "$out" '
  def median: sort | if length % 2 == 1 then .[length / 2 | floor]
                     else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def fmt: if . >= 1e6 then "\(. / 1e4 | round / 100)M"
           elif . >= 1e4 then "\(. / 100 | round / 10)k" else "\(. | round)" end;
  def r2: "\(. * 100 | round / 100)x";
  [inputs] as $docs  # old-1, new-1, old-2, new-2, ...
  | [range(0; $docs | length; 2) as $i | $docs[$i]] as $old
  | [range(1; $docs | length; 2) as $i | $docs[$i]] as $new
  | ($old[0].cases | map(select(.unit == "rec/s")) | map(.name)) as $names
  | "case | old median | new median | new/old | target | paired new/old | old/baseline | new/baseline | old runs | new runs",
    "--- | --- | --- | --- | --- | --- | --- | --- | --- | ---",
    ($names[] as $n
     | [$old[] | .cases[] | select(.name == $n)] as $o
     | [$new[] | .cases[] | select(.name == $n)] as $w
     | ($o | map(.kaya) | median) as $om
     | ($w | map(.kaya) | median) as $nm
     | "\($n) | \($om | fmt) rec/s | \($nm | fmt) rec/s | \($nm / $om | r2) | >= 0.97x"
       + " | \([range(0; $o | length) as $i | $w[$i].kaya / $o[$i].kaya] | median | r2)"
       + " | \($o | map(.ratio) | median | r2) | \($w | map(.ratio) | median | r2)"
       + " | \($o | map(.kaya | fmt) | join(", ")) | \($w | map(.kaya | fmt) | join(", "))"),
    "",
    "raw: \($out)/{old,new}-1..\($runs).json"
' $(for i in $(seq 1 "$runs"); do echo "$out/old-$i.json" "$out/new-$i.json"; done)
