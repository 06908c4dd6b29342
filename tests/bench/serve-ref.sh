#!/usr/bin/env bash
# serve-ref.sh: start Bit's reference remote-scope server (../realclient/ref-server.js, which runs
# bit-bin 14.8.9-dev.283's own scope code) on a fresh, empty bare scope, in the background.
#
# usage: serve-ref.sh [PORT_FILE]
#   PORT_FILE  optional: the chosen port is also written there
# env:
#   SCOPE                scope name (default myorg.myscope)
#   SCOPED_CLIENT_CACHE  where the bitbin283 client is (or gets) npm-installed, as in
#                        ../realclient/e2e.sh (default ~/.cache/scoped-realclient)
# stdout (shell-eval-able):  REF_URL=http://127.0.0.1:PORT  REF_PID=PID  REF_DIR=TEMPDIR
#   REF_URL is the remote URL (no path prefix), REF_PID the node process (for bench.sh PID_A/PID_B),
#   REF_DIR holds the bare scope (scope/), HOME for bit (home/) and the server log (server.log).
# stop:   kill "$REF_PID" && rm -rf "$REF_DIR"
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REALCLIENT="$HERE"   # ref-server.js and bit-legacy.js live beside this script
SCOPE="${SCOPE:-myorg.myscope}"
CACHE="${SCOPED_CLIENT_CACHE:-$HOME/.cache/scoped-realclient}/bitbin283"
PKG="$CACHE/node_modules/bit-bin"
PORT_FILE="${1:-}"

die() { echo "serve-ref.sh: $*" >&2; exit 1; }
command -v node >/dev/null || die "node is not installed (Node 20 recommended)"

# the same install as ../realclient/e2e.sh (BIT_CLIENT=bitbin283), done only when missing
if [ ! -f "$PKG/package.json" ]; then
  echo "serve-ref.sh: installing bit-bin@14.8.9-dev.283 into $CACHE (npm, ~1 min)" >&2
  mkdir -p "$CACHE"
  [ -f "$CACHE/package.json" ] || echo '{"name":"bit-e2e-client","version":"1.0.0","private":true}' > "$CACHE/package.json"
  (cd "$CACHE" && npm install --no-audit --no-fund --ignore-scripts --legacy-peer-deps \
      bit-bin@14.8.9-dev.283 @teambit/bit-error@0.0.363 @teambit/component-version@0.0.364 \
      @teambit/legacy-bit-id@0.0.365 graphql@14.7.0 >&2) || die "npm install failed"
fi

DIR="$(mktemp -d -t bit-ref.XXXXXX)"
mkdir -p "$DIR/home" "$DIR/scope"
bit() { (cd "$DIR/scope" && HOME="$DIR/home" BIT_BIN_DIR="$PKG" node "$REALCLIENT/bit-legacy.js" "$@") >>"$DIR/init.log" 2>&1; }
bit config set analytics_reporting false || die "bit config failed, see $DIR/init.log"
bit config set error_reporting false || die "bit config failed, see $DIR/init.log"
bit init --bare "$SCOPE" || die "bit init --bare failed, see $DIR/init.log"

# start detached from this shell; $! is the node process itself
HOME="$DIR/home" BIT_BIN_DIR="$PKG" BIT_REF_PORT_FILE="$DIR/port" \
  setsid node "$REALCLIENT/ref-server.js" "$DIR/scope" 0 >"$DIR/server.log" 2>&1 </dev/null &
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
