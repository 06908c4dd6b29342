#!/usr/bin/env bash
# `bit login` end to end in a real browser, for both client generations (bitbin283 = bit-bin
# 14.8.9-dev.283, legacy160 = @teambit/legacy 1.0.160): the CLI prints the URL of scoped's
# /bit-login page and listens on localhost; headless Chromium (Debian's `chromium`, driven by
# playwright-core from npm, see login.mjs) opens it, submits a wrong password (the page must say
# so), then the right one, and is redirected through the CLI's listener, which stores the token
# in the CLI's global config. That stored token alone then adds a private scope as a remote,
# exports a freshly tagged component to it, and imports it back in a second workspace.
# usage: SCOPED_BIN=build/scoped tests/browser/login.sh [CLIENT...]   (default: both)
# env: SCOPED_ARTIFACTS   where the screenshots go (default: a new temp dir)
#      SCOPED_CLIENT_CACHE where the Bit CLIs and playwright-core are installed (default ~/.cache/scoped-realclient)
#      KEEP_TMP=1          keep the temp workspaces and the daemon's data
#      VERBOSE=1           print every step's output, also when it passes
# shellcheck source-path=SCRIPTDIR disable=SC2317  # login_flow and its helpers run through check()
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${SCOPED_BIN:?SCOPED_BIN must name the scoped binary}"
SCOPED_BIN="$(cd "$(dirname "$SCOPED_BIN")" && pwd)/$(basename "$SCOPED_BIN")"  # the flows cd elsewhere
# shellcheck source=../cli/lib.sh
. "$here/../cli/lib.sh"

PLAYWRIGHT_VERSION=1.65.1
CACHE="${SCOPED_CLIENT_CACHE:-$HOME/.cache/scoped-realclient}"
export PLAYWRIGHT_DIR="$CACHE/playwright"
export CHROMIUM="${SCOPED_CHROMIUM:-/usr/bin/chromium}"
ARTIFACTS="${SCOPED_ARTIFACTS:-$(mktemp -d -t scoped-login-artifacts.XXXXXX)}"
mkdir -p "$ARTIFACTS" && ARTIFACTS="$(cd "$ARTIFACTS" && pwd)"
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(bitbin283 legacy160)

passed=0; failed=0
check() {  # name, command...: output only on failure, but screenshot paths always
  local name="$1"; shift
  local log; log="$(mktemp)"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); echo "ok   $name"
    if [ "${VERBOSE:-0}" = 1 ]; then sed 's/^/     /' "$log"; else grep '^screenshot: ' "$log" | sed 's/^/     /'; fi
  else
    failed=$((failed + 1)); echo "FAIL $name"; tail -60 "$log" | sed 's/^/     /'
  fi
  rm -f "$log"
}
finish() {
  echo "login: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && exit 0
  exit 1
}

# ---------------------------------------------------------------- what the test needs
[ -x "$CHROMIUM" ] || { echo "no $CHROMIUM (Debian's chromium package; make deps installs it)"; failed=1; finish; }
if [ ! -f "$PLAYWRIGHT_DIR/node_modules/playwright-core/package.json" ] ||
   ! grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$PLAYWRIGHT_DIR/node_modules/playwright-core/package.json"; then
  echo "installing playwright-core@$PLAYWRIGHT_VERSION into $PLAYWRIGHT_DIR (npm; no browser download)"
  mkdir -p "$PLAYWRIGHT_DIR"
  [ -f "$PLAYWRIGHT_DIR/package.json" ] ||
    echo '{"name":"scoped-browser-tests","version":"1.0.0","private":true}' >"$PLAYWRIGHT_DIR/package.json"
  (cd "$PLAYWRIGHT_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 300 \
    npm install --no-audit --no-fund --ignore-scripts "playwright-core@$PLAYWRIGHT_VERSION") >"$ARTIFACTS/npm.log" 2>&1 ||
    { tail -20 "$ARTIFACTS/npm.log"; echo "npm install of playwright-core failed"; failed=1; finish; }
fi
declare -A BITS
for client in "${clients[@]}"; do
  BITS[$client]="$(E2E_INSTALL_ONLY=1 BIT_CLIENT="$client" bash "$here/../cli/e2e.sh" -)" ||
    { echo "cannot install the Bit CLI $client"; failed=1; finish; }
done

# ---------------------------------------------------------------- the daemon and an account
PRIV_SCOPE=priv.login
LOGIN_USER=alice
export LOGIN_USER LOGIN_PASSWORD="correct horse $$" LOGIN_WRONG_PASSWORD="wrong horse $$"
trap scoped_stop EXIT
scoped_start || { failed=1; finish; }
scoped_cmd scope create "$PRIV_SCOPE" >/dev/null || { failed=1; finish; }
printf '%s\n' "$LOGIN_PASSWORD" | scoped_cmd user add "$LOGIN_USER" --password-stdin >/dev/null || { failed=1; finish; }
scoped_cmd member add "$PRIV_SCOPE" "$LOGIN_USER" developer >/dev/null || { failed=1; finish; }
echo "scoped at $SCOPED_URL_BASE; screenshots in $ARTIFACTS"

# A free port for the CLI's listener (it listens on all addresses, as node does for listen(port)).
free_port() { node -e 'const s=require("net").createServer().listen(0,()=>{console.log(s.address().port);s.close()})'; }

# PIDs of processes whose command line contains $1 (the test's own temp dir): what is left of
# this test's CLI and Chromium, to be ended by id.
pids_with() {
  local d pid
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
    tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF -- "$1" && echo "$pid"
  done
}

# One client generation, in a subshell: prints its steps, exits non-zero on the first failure.
login_flow() (
  client="$1"
  BIT="${BITS[$client]}"
  TMP="$(mktemp -d -t "scoped-login-$client.XXXXXX")"
  LOGIN_PID=""
  cleanup() {
    [ -n "$LOGIN_PID" ] && kill "$LOGIN_PID" 2>/dev/null && wait "$LOGIN_PID" 2>/dev/null
    local left; left="$(pids_with "$TMP")"
    # shellcheck disable=SC2086
    [ -n "$left" ] && kill -9 $left 2>/dev/null
    [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMP"
  }
  trap cleanup EXIT
  export HOME="$TMP/home"
  mkdir -p "$HOME"
  unset BIT_TOKEN BIT_CONFIG_USER_TOKEN
  fail() { echo "LOGIN FAILED ($client): $*" >&2; exit 1; }
  bit() { timeout -k 5 180 "$BIT" "$@" 2>&1 | grep -v 'running bit as root'; return "${PIPESTATUS[0]}"; }
  CONFIG="$HOME/Library/Caches/Bit/config/config.json"
  cfg() { node -e 'try { const v = require(process.argv[1])[process.argv[2]]; if (v) console.log(v); } catch (e) {}' "$CONFIG" "$1"; }
  bit config set analytics_reporting false >/dev/null || fail "config analytics_reporting"
  bit config set error_reporting false >/dev/null || fail "config error_reporting"
  bit config set hub_domain_login "$SCOPED_URL_BASE/bit-login" >/dev/null || fail "config hub_domain_login"
  [ -z "$(cfg user.token)" ] || fail "a fresh HOME already has user.token"

  PRIV="$SCOPED_URL_BASE/$PRIV_SCOPE"
  NAME="login-$client-$$"
  CONTENT="module.exports = () => '$NAME';"
  W1="$TMP/ws1"; mkdir -p "$W1/components/$NAME"; cd "$W1" || fail "cd"
  echo '{"name":"ws1","version":"1.0.0"}' >package.json
  printf '%s\n' "$CONTENT" >"components/$NAME/index.js"
  bit init >/dev/null || fail "init"
  bit add "components/$NAME" >/dev/null || fail "add"
  bit tag --all 1.0.0 >/dev/null || fail "tag"

  echo "--- before logging in, the private scope is not there for this CLI"
  if bit remote add "$PRIV" >"$TMP/out" 2>&1; then cat "$TMP/out"; fail "remote add of a private scope without a token succeeded"; fi
  grep -q "not found" "$TMP/out" || { cat "$TMP/out"; fail "remote add did not say the scope was not found"; }

  echo "--- bit login prints the URL of scoped's login page and waits"
  URL=""
  for _ in 1 2 3; do
    PORT="$(free_port)" || fail "no free port"
    # --skip-registry-config last: bit-bin 283 declares it as `[boolean]` and would take a next word
    "$BIT" login --suppress-browser-launch --port "$PORT" --machine-name "scoped-browser-test" \
      --npmrc-path "$TMP/npmrc" --skip-registry-config >"$TMP/login.out" 2>&1 &
    LOGIN_PID=$!
    for _ in $(seq 1 600); do  # 60 s
      URL="$(sed 's/\x1b\[[0-9;]*m//g' "$TMP/login.out" | grep -o 'http://[^ ]*/bit-login?[^ ]*' | head -1)"
      [ -n "$URL" ] && break
      kill -0 "$LOGIN_PID" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$URL" ] && break
    kill "$LOGIN_PID" 2>/dev/null; wait "$LOGIN_PID" 2>/dev/null; LOGIN_PID=""
    grep -q "already in use" "$TMP/login.out" || { cat "$TMP/login.out"; fail "bit login printed no URL within 60 s"; }
  done
  [ -n "$URL" ] || { cat "$TMP/login.out"; fail "bit login found no free port"; }
  echo "$URL"
  case "$URL" in "$SCOPED_URL_BASE/bit-login?port=$PORT&clientId="*) ;; *) fail "unexpected login URL (port $PORT)";; esac

  echo "--- the browser: wrong password, then the right one"
  USER_DATA_DIR="$TMP/chromium-profile" SHOT_PREFIX="$ARTIFACTS/login-$client" BROWSER_TIMEOUT_MS=90000 \
    timeout -k 5 100 node "$here/login.mjs" "$URL" || { echo "CLI output:"; cat "$TMP/login.out"; fail "browser steps"; }

  echo "--- the CLI stored the token and exited 0"
  for _ in $(seq 1 300); do kill -0 "$LOGIN_PID" 2>/dev/null || break; sleep 0.1; done  # 30 s
  if kill -0 "$LOGIN_PID" 2>/dev/null; then cat "$TMP/login.out"; fail "bit login still running 30 s after the redirect"; fi
  wait "$LOGIN_PID"; rc=$?; LOGIN_PID=""
  grep -v 'running bit as root' "$TMP/login.out"
  [ "$rc" -eq 0 ] || fail "bit login exited $rc"
  grep -q "success! logged in as $LOGIN_USER" "$TMP/login.out" || fail "bit login did not say it logged in as $LOGIN_USER"
  TOKEN="$(cfg user.token)"
  [ -n "$TOKEN" ] || fail "no user.token in $CONFIG"
  grep -qF -- "$TOKEN" "$TMP/login.out" && fail "bit login printed the token"
  [ -e "$TMP/npmrc" ] || [ -e "$HOME/.npmrc" ] && fail "bit login wrote an npmrc despite --skip-registry-config"
  scoped_cmd token list "$LOGIN_USER" | grep -q "bit login" || fail "scoped lists no 'bit login' token for $LOGIN_USER"

  echo "--- the stored token alone: remote add, export, import"
  bit remote add "$PRIV" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "remote add with the stored token"; }
  grep -q "added remote scope '$PRIV_SCOPE'" "$TMP/out" || { cat "$TMP/out"; fail "remote add did not name the scope"; }
  bit export "$PRIV_SCOPE" "$NAME" || fail "export with the stored token"
  grep -q "\"$PRIV_SCOPE/$NAME@1.0.0\"" .bitmap || fail ".bitmap not updated after export"
  W2="$TMP/ws2"; mkdir -p "$W2"; cd "$W2" || fail "cd"
  echo '{"name":"ws2","version":"1.0.0"}' >package.json
  bit init >/dev/null || fail "init (ws2)"
  bit remote add "$PRIV" >/dev/null || fail "remote add (ws2)"
  bit import "$PRIV_SCOPE/$NAME" --skip-npm-install || fail "import with the stored token"
  [ "$(cat "components/$NAME/index.js")" = "$CONTENT" ] || fail "imported content differs"
  grep -qF -- "$TOKEN" "$SCOPED_DATA/log" && fail "the token is in scoped's log"

  echo "--- nothing left running"
  left="$(pids_with "$TMP")"
  [ -z "$left" ] || { ps -o pid,args -p "$(printf '%s\n' "$left" | paste -sd,)"; fail "processes left behind"; }
  echo "LOGIN OK: $client"
)

for client in "${clients[@]}"; do
  check "bit login in Chromium, $client" login_flow "$client"
done
finish
