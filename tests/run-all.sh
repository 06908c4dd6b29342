#!/usr/bin/env bash
# Every test of `make check`: unit tests, the fuzz harnesses' regression inputs, HTTP integration
# tests, crash safety (SIGKILL during exports), a short load run, the real Bit CLI, the daemon
# under Valgrind through one real-CLI round trip, and, given SCOPED_SAN_BUILD (the ASan/UBSan
# build directory), the unit, fuzz-replay and HTTP suites again against that build.
# usage: tests/run-all.sh SCOPED_BINARY UNIT_TEST_DIR
# env:   CRASH_KILLS (default 10), LOAD_SECONDS (default 10), SCOPED_SANITIZED=1 when the binary
#        itself is the sanitizer build (Valgrind cannot run it then)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
unit_dir="$2"
build_dir="$(dirname "$bin")"
export SCOPED_BIN="$bin"
export SCOPED_CAPTURES="${SCOPED_CAPTURES:-$here/captures}"

failed=() passed=0
run() {
  local name="$1"; shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    echo "=== $name: ok ($((SECONDS - t0)) s)"; passed=$((passed + 1))
  else
    echo "=== $name: FAILED ($((SECONDS - t0)) s)"; failed+=("$name")
  fi
}

run unit "$here/unit/run.sh" "$unit_dir"
run fuzz-replay "$here/fuzz/replay.sh" "$build_dir/fuzz-replay"
run http python3 "$here/http/run.py"
run crash python3 "$here/crash/crash.py" --kills "${CRASH_KILLS:-10}"
run load python3 "$here/load/load.py" --seconds "${LOAD_SECONDS:-10}"
run cli "$here/cli/run.sh"
run login bash "$here/browser/login.sh"
run pages bash "$here/browser/pages.sh"
[ "${SCOPED_SANITIZED:-0}" = 1 ] || run valgrind "$here/valgrind/memcheck.sh"
if [ -n "${SCOPED_SAN_BUILD:-}" ]; then
  san="$(cd "$SCOPED_SAN_BUILD" && pwd)"
  run unit-asan "$here/unit/run.sh" "$san/tests"
  run fuzz-replay-asan "$here/fuzz/replay.sh" "$san/fuzz-replay"
  run http-asan env SCOPED_BIN="$san/scoped" python3 "$here/http/run.py"
fi

echo
if [ ${#failed[@]} -eq 0 ]; then
  echo "suites: $passed passed, 0 failed"
  exit 0
fi
echo "failed suites: ${failed[*]}"
echo "suites: $passed passed, ${#failed[@]} failed"
exit 1
