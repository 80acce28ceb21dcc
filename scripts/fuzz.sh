#!/usr/bin/env bash
# Builds kaya's libFuzzer targets (fuzz/) with clang, replays fuzz/regressions/, then
# fuzzes each target for SECONDS (default 20; the targets run side by side, one per
# core) on a scratch copy of its committed corpus fuzz/corpus/<target>/ (so the
# committed corpus does not churn). Prints the executions per target; fails if a
# target crashes. A crash input is copied to
# fuzz/regressions/<target>/ so that every later run replays it (see fuzz/README.md).
# Needs clang and libclang-rt-14-dev (scripts/install-deps.sh). The build directory is
# build/fuzz unless KAYA_FUZZ_BUILD_DIR says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
case "$seconds" in
  ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 4 ;;
esac
targets=(decode_fuzzer recovery_fuzzer recovery_point_fuzzer write_parser_fuzzer)
build="${KAYA_FUZZ_BUILD_DIR:-build/fuzz}"

CC=clang CXX=clang++ cmake -S fuzz -B "$build" -G Ninja >/dev/null
cmake --build "$build"

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
work="$build/run"
failed=()

echo "== replay fuzz/regressions/"
for t in "${targets[@]}"; do
  inputs=()
  for f in fuzz/regressions/"$t"/*; do
    [ -f "$f" ] && [ "$(basename "$f")" != README.md ] && inputs+=("$f")
  done
  if [ ${#inputs[@]} -eq 0 ]; then
    echo "$t: no regression input"
    continue
  fi
  if "$build/$t" "${inputs[@]}" >"$work-$t-replay.log" 2>&1; then
    echo "$t: ${#inputs[@]} regression input(s) pass"
  else
    tail -n 40 "$work-$t-replay.log" >&2
    echo "$t: a regression input fails (log: $work-$t-replay.log)" >&2
    failed+=("$t (regression)")
  fi
done

echo "== fuzz ${seconds}s per target, $(nproc) at a time"
# Runs one target for SECONDS on a scratch copy of its corpus; writes the fuzzer's exit
# status to $work-<target>.status.
fuzz_one() {
  local t="$1" corpus="$work/$1/corpus" artifacts="$work/$1/artifacts" status=0
  rm -rf "${work:?}/$t"
  mkdir -p "$corpus" "$artifacts"
  cp fuzz/corpus/"$t"/* "$corpus"/
  "$build/$t" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" >"$work-$t-fuzz.log" 2>&1 || status=$?
  echo "$status" >"$work-$t.status"
}
# Each target keeps its whole time; the targets run side by side, one per core.
rm -f "$work"-*.status
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait
for t in "${targets[@]}"; do
  artifacts="$work/$t/artifacts"
  log="$work-$t-fuzz.log"
  status=$(cat "$work-$t.status" 2>/dev/null || echo "?")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "$t: ${runs:-?} executions in ${seconds}s, exit $status"
  if [ "$status" != 0 ]; then
    grep -m 1 -E "ERROR|invariant violated|runtime error" "$log" >&2 || true
    mkdir -p fuzz/regressions/"$t"
    for a in "$artifacts"/*; do
      [ -f "$a" ] || continue
      cp "$a" fuzz/regressions/"$t"/
      echo "$t: crash input saved as fuzz/regressions/$t/$(basename "$a")" >&2
    done
    echo "$t: log: $log" >&2
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: OK"
