#!/usr/bin/env bash
# The daemon under Valgrind's memcheck through one real-CLI round trip (tests/cli/e2e.sh with
# bitbin283: remote add, export, import byte for byte, incremental export, old versions), then a
# clean SIGTERM stop. Fails on any memory error and on definitely lost memory.
# usage: tests/valgrind/memcheck.sh     (needs SCOPED_BIN, valgrind, the installed Bit CLI)
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
: "${SCOPED_BIN:?SCOPED_BIN must name the scoped binary}"
command -v valgrind >/dev/null || { echo "valgrind: not installed"; exit 1; }
vlog="$(mktemp -t scoped-valgrind.XXXXXX)"
SCOPED_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
  --show-leak-kinds=definite --track-fds=no --log-file=$vlog"
. "$here/cli/lib.sh"
t0=$SECONDS
scoped_start || { cat "$vlog"; exit 1; }
trap 'rm -f "$vlog"; scoped_stop' EXIT
scoped_cmd scope create myorg.myscope >/dev/null && scoped_cmd user add dev >/dev/null &&
  scoped_cmd member add myorg.myscope dev developer >/dev/null || exit 1
token="$(scoped_cmd token create dev --name valgrind)" || exit 1
rc=0
if ! BIT_CLIENT=bitbin283 BIT_SCOPE=myorg.myscope BIT_TOKEN="$token" \
     bash "$here/cli/e2e.sh" "$SCOPED_URL_BASE/myorg.myscope" >"$vlog.e2e" 2>&1; then
  echo "valgrind: the e2e round trip failed under valgrind"; tail -30 "$vlog.e2e"; rc=1
fi
requests=$(grep -c 'msg=request ' "$SCOPED_DATA/log")
kill "$SCOPED_PID"; wait "$SCOPED_PID"; vrc=$?; SCOPED_PID=""
errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$vlog" | tail -1)
lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$vlog" | tail -1)
echo "valgrind: $requests requests served under memcheck in $((SECONDS - t0)) s; exit $vrc," \
     "${errors:-?} errors, ${lost:-0} bytes definitely lost"
if [ "$vrc" -ne 0 ] || [ "${errors:-1}" != 0 ]; then
  echo "valgrind: FAILED"; grep -v '^==[0-9]*== *$' "$vlog" | head -80; rc=1
fi
rm -f "$vlog.e2e"
echo "valgrind: $((rc == 0)) passed, $((rc != 0)) failed"
exit $rc
