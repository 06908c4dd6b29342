#!/usr/bin/env bash
# Every test of `make check`: unit tests, HTTP integration tests, then the real Bit CLI.
# usage: tests/run-all.sh SCOPED_BINARY UNIT_TEST_DIR
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
unit_dir="$2"
export SCOPED_BIN="$bin"
export SCOPED_CAPTURES="${SCOPED_CAPTURES:-$here/captures}"

failed=()
run() {
  local name="$1"; shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then echo "=== $name: ok ($((SECONDS - t0)) s)"; else echo "=== $name: FAILED ($((SECONDS - t0)) s)"; failed+=("$name"); fi
}

run unit "$here/unit/run.sh" "$unit_dir"
run http python3 "$here/http/run.py"
run cli "$here/cli/run.sh"
run login bash "$here/browser/login.sh"
run pages bash "$here/browser/pages.sh"

echo
if [ ${#failed[@]} -eq 0 ]; then
  echo "suites: 5 passed, 0 failed"
  exit 0
fi
echo "failed suites: ${failed[*]}"
echo "suites: $((5 - ${#failed[@]})) passed, ${#failed[@]} failed"
exit 1
