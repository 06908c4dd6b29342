# Helpers for the real-CLI tests: a scoped daemon on a free loopback port with its own data.
# Sourced by tests/cli/*.sh; needs SCOPED_BIN.

scoped_start() {  # sets SCOPED_DATA, SCOPED_PID, SCOPED_URL_BASE; SCOPED_WRAPPER (e.g. valgrind) runs the daemon
  SCOPED_DATA="$(mktemp -d -t scoped-cli.XXXXXX)"
  ${SCOPED_WRAPPER:-} "$SCOPED_BIN" --data "$SCOPED_DATA/data" serve --listen 127.0.0.1:0 >"$SCOPED_DATA/log" 2>&1 &
  SCOPED_PID=$!
  local port=""
  for _ in $(seq 1 600); do
    port="$(sed -n 's/.*msg="scoped serving".* port=\([0-9]*\).*/\1/p' "$SCOPED_DATA/log" | head -1)"
    [ -n "$port" ] && break
    kill -0 "$SCOPED_PID" 2>/dev/null || { cat "$SCOPED_DATA/log"; return 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { echo "scoped did not start"; cat "$SCOPED_DATA/log"; return 1; }
  SCOPED_URL_BASE="http://127.0.0.1:$port"
}

scoped_stop() {
  [ -n "${SCOPED_PID:-}" ] && kill "$SCOPED_PID" 2>/dev/null && wait "$SCOPED_PID" 2>/dev/null
  SCOPED_PID=""
  [ -n "${SCOPED_DATA:-}" ] && [ "${KEEP_TMP:-0}" != 1 ] && rm -rf "$SCOPED_DATA"
}

scoped_cmd() { "$SCOPED_BIN" --data "$SCOPED_DATA/data" "$@"; }
