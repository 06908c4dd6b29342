#!/usr/bin/env bash
# Runs every unit test binary in DIR; each prints "NAME: N passed, N failed".
set -u
dir="${1:?usage: run.sh BUILD_TEST_DIR}"
export SCOPED_CAPTURES="${SCOPED_CAPTURES:-$(cd "$(dirname "$0")/.." && pwd)/captures}"
rc=0
for t in "$dir"/test_*; do
  [ -x "$t" ] || continue
  "$t" || rc=1
done
exit $rc
