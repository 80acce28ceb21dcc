#!/usr/bin/env bash
# scripts/run.sh (the main job) says what becomes of its log directory, and does it:
# without DIR the temporary directory is removed when the script ends and the last
# line says so; with DIR the log stays and nothing claims it was removed. Runs the
# real scripts (run.sh, release-build.sh) in a copy of the tree's layout whose install
# step and cmake are stubs,
# with the kaya-wal built for the tests (bench on a small workload).
# usage: run_sh_test.sh SOURCE_DIR KAYA_WAL
set -euo pipefail
src="$1"
tool="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() {
  echo "run_sh_test: $*" >&2
  exit 1
}

root="$work/root"
mkdir -p "$root/scripts" "$root/build/release/tools/kaya-wal" "$work/bin" "$work/tmp"
cp "$src/scripts/run.sh" "$src/scripts/release-build.sh" "$root/scripts/"
printf '#!/bin/sh\nexit 0\n' >"$root/scripts/install-deps.sh"
printf '#!/bin/sh\nexit 0\n' >"$work/bin/cmake"
cat >"$root/build/release/tools/kaya-wal/kaya-wal" <<EOF
#!/bin/sh
if [ "\$1" = bench ]; then exec "$tool" "\$@" --records 200 --threads 2; fi
exec "$tool" "\$@"
EOF
chmod +x "$root/scripts/install-deps.sh" "$work/bin/cmake" \
  "$root/build/release/tools/kaya-wal/kaya-wal"
run() { PATH="$work/bin:$PATH" TMPDIR="$work/tmp" bash "$root/scripts/run.sh" "$@" 2>&1; }

out="$(run)" || fail "run.sh failed:"$'\n'"$out"
echo "$out"
temp="$(sed -n 's/^run\.sh: no DIR given: the log goes to \([^,]*\),.*/\1/p' <<<"$out")"
[ -n "$temp" ] || fail "run.sh does not say where the log goes"
grep -qF "dir $temp (kept)" <<<"$out" || fail "bench did not write into $temp"
[ "$(tail -n 1 <<<"$out")" = "run.sh: removed $temp" ] ||
  fail "the last line does not say that $temp was removed"
[ ! -e "$temp" ] || fail "$temp is left behind"
[ -z "$(ls -A "$work/tmp")" ] || fail "left behind in TMPDIR: $(ls -A "$work/tmp")"

out="$(run "$work/keep")" || fail "run.sh DIR failed:"$'\n'"$out"
echo "$out"
grep -qF "dir $work/keep (kept)" <<<"$out" || fail "bench did not write into DIR"
! grep -q "removed" <<<"$out" || fail "run.sh DIR claims a removal"
[ -d "$work/keep/wal" ] || fail "run.sh DIR did not keep the log"
echo "run_sh_test: ok"
