#!/usr/bin/env bash
# Part of `make check`: every harness, built without libFuzzer (replay.c), runs over the kept
# regression inputs (tests/fuzz/regressions/<harness>/) and the seed corpus of tests/captures.
# usage: tests/fuzz/replay.sh DIR_WITH_REPLAY_BINARIES
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$1"
seeds="$(mktemp -d)"
trap 'rm -rf "$seeds"' EXIT
python3 "$here/seeds.py" "$seeds" >/dev/null || exit 1
rc=0 n=0
for bin in "$dir"/fuzz_*; do
  [ -x "$bin" ] || continue
  h="$(basename "$bin")"
  mkdir -p "$seeds/$h"
  paths=("$seeds/$h")
  [ -d "$here/regressions/$h" ] && paths+=("$here/regressions/$h")
  if "$bin" "${paths[@]}"; then n=$((n + 1)); else echo "fuzz replay: $h FAILED"; rc=1; fi
done
[ $n -gt 0 ] || { echo "fuzz replay: no harness in $dir"; rc=1; }
exit $rc
