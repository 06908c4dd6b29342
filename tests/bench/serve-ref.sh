#!/usr/bin/env bash
# serve-ref.sh: start Bit's reference remote-scope server (../realclient/ref-server.js, which runs
# bit-bin 14.8.9-dev.283's own scope code) on a fresh, empty bare scope, in the background.
#
# usage: serve-ref.sh [PORT_FILE]
#   PORT_FILE  optional: the chosen port is also written there
# env:
#   SCOPE                scope name (default myorg.myscope)
#   SCOPED_CLIENT_CACHE  where the bitbin283 client is (or gets) npm-installed, as in
#                        tests/cli/e2e.sh (default ~/.cache/scoped-realclient)
# stdout (shell-eval-able):  REF_URL=http://127.0.0.1:PORT  REF_PID=PID  REF_DIR=TEMPDIR
#   REF_URL is the remote URL (no path prefix), REF_PID the node process (for bench.sh PID_A/PID_B),
#   REF_DIR holds the bare scope (scope/), HOME for bit (home/) and the server log (server.log).
# stop:   kill "$REF_PID" && rm -rf "$REF_DIR"
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCOPE="${SCOPE:-myorg.myscope}"
PORT_FILE="${1:-}"

die() { echo "serve-ref.sh: $*" >&2; exit 1; }
command -v node >/dev/null || die "node is not installed (Node 20 recommended)"

# the client install and legacy entry shim of the CLI tests (bit-bin 14.8.9-dev.283), whose
# scope code the reference server runs; installed only when missing
BIT="$(E2E_INSTALL_ONLY=1 BIT_CLIENT=bitbin283 bash "$HERE/../cli/e2e.sh" - | tail -1)" \
  || die "installing bit-bin failed"
CACHE="$(dirname "$BIT")"
PKG="$CACHE/node_modules/bit-bin"
[ -f "$PKG/package.json" ] || die "bit-bin is not installed in $CACHE"

DIR="$(mktemp -d -t bit-ref.XXXXXX)"
mkdir -p "$DIR/home" "$DIR/scope"
bit() { (cd "$DIR/scope" && HOME="$DIR/home" BIT_BIN_DIR="$PKG" node "$CACHE/bit-legacy.js" "$@") >>"$DIR/init.log" 2>&1; }
bit config set analytics_reporting false || die "bit config failed, see $DIR/init.log"
bit config set error_reporting false || die "bit config failed, see $DIR/init.log"
bit init --bare "$SCOPE" || die "bit init --bare failed, see $DIR/init.log"

# start detached from this shell; $! is the node process itself
HOME="$DIR/home" BIT_BIN_DIR="$PKG" BIT_REF_PORT_FILE="$DIR/port" \
  setsid node "$HERE/ref-server.js" "$DIR/scope" 0 >"$DIR/server.log" 2>&1 </dev/null &
PID=$!
for _ in $(seq 1 300); do
  [ -s "$DIR/port" ] && break
  kill -0 "$PID" 2>/dev/null || die "server exited, see $DIR/server.log"
  sleep 0.1
done
[ -s "$DIR/port" ] || { kill "$PID"; die "server did not start in 30 s, see $DIR/server.log"; }
PORT="$(cat "$DIR/port")"
[ -z "$PORT_FILE" ] || echo "$PORT" > "$PORT_FILE"
echo "REF_URL=http://127.0.0.1:$PORT"
echo "REF_PID=$PID"
echo "REF_DIR=$DIR"
