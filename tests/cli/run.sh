#!/usr/bin/env bash
# The real Bit CLI, both generations (bitbin283 = bit-bin 14.8.9-dev.283, legacy160 =
# @teambit/legacy 1.0.160), against a scoped daemon: remote add, export, import back byte for
# byte, incremental export, old versions, remote list, missing ids.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${SCOPED_BIN:?SCOPED_BIN must name the scoped binary}"
. "$here/lib.sh"

passed=0; failed=0
check() {  # name, command...
  local name="$1"; shift
  local log; log="$(mktemp)"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; tail -40 "$log" | sed 's/^/     /'
  fi
  rm -f "$log"
}

trap scoped_stop EXIT
scoped_start || exit 1
scoped_cmd scope create myorg.myscope || exit 1
for client in bitbin283 legacy160; do
  check "e2e $client" env BIT_CLIENT="$client" BIT_SCOPE=myorg.myscope \
    bash "$here/e2e.sh" "$SCOPED_URL_BASE/myorg.myscope"
done

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
