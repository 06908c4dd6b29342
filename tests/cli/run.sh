#!/usr/bin/env bash
# The real Bit CLI, both generations (bitbin283 = bit-bin 14.8.9-dev.283, legacy160 =
# @teambit/legacy 1.0.160), against a scoped daemon: remote add, export, import back byte for
# byte, incremental export, old versions, remote list, missing ids; and protocol.sh: dependencies,
# wildcard import, log/show/list/deprecate/remove against the remote, conflicting exports.
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
scoped_cmd scope create priv.scope || exit 1
scoped_cmd scope create pub.scope --public || exit 1
scoped_cmd user add dev || exit 1
scoped_cmd user add view || exit 1
for s in myorg.myscope priv.scope pub.scope; do scoped_cmd member add "$s" dev developer || exit 1; done
scoped_cmd member add priv.scope view viewer || exit 1
export TOKEN_DEV TOKEN_VIEW TOKEN_VIEW_ID SCOPED_URL_BASE SCOPED_DATA
TOKEN_DEV="$(scoped_cmd token create dev --name cli-tests)" || exit 1
for client in bitbin283 legacy160; do
  check "e2e $client" env BIT_CLIENT="$client" BIT_SCOPE=myorg.myscope BIT_TOKEN="$TOKEN_DEV" \
    bash "$here/e2e.sh" "$SCOPED_URL_BASE/myorg.myscope"
  TOKEN_VIEW="$(scoped_cmd token create view --name "auth-$client")" || exit 1
  TOKEN_VIEW_ID="$(scoped_cmd token list view | tail -1 | cut -f1)"
  check "auth $client" bash "$here/auth.sh" "$client"
  scoped_cmd scope create "proto.$client" || exit 1
  scoped_cmd member add "proto.$client" dev developer || exit 1
  check "protocol $client" bash "$here/protocol.sh" "$client" "proto.$client"
done
check "raw client (Bit's own HTTP class: modern fetches, VersionHistory, GraphQL, lanes, delete)" \
  bash "$here/rawclient.sh"
check "no token in the log" bash -c "! grep -F -e \"\$TOKEN_DEV\" -e \"\$TOKEN_VIEW\" \"\$SCOPED_DATA/log\""

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
