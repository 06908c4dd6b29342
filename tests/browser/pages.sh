#!/usr/bin/env bash
# The web pages in a real browser, against a daemon holding components exported by the real Bit
# CLI (bitbin283): a public scope with a namespaced component, a component depending on it, and
# a component whose file holds `<script>alert(1)</script>`; a private scope with one component.
# Headless Chromium (Debian's `chromium`, driven by playwright-core, see pages.mjs) browses as an
# anonymous visitor, signs in, creates and revokes tokens, signs out, and as a server admin
# creates a scope and adds a member. The token created on the page is then used by the CLI
# (`bit import --token`), and the revoked one is refused. Screenshots go to SCOPED_ARTIFACTS.
# usage: SCOPED_BIN=build/scoped tests/browser/pages.sh
# env: SCOPED_ARTIFACTS   where the screenshots go (default: a new temp dir)
#      SCOPED_CLIENT_CACHE where the Bit CLI and playwright-core are installed (default ~/.cache/scoped-realclient)
#      KEEP_TMP=1          keep the temp workspaces and the daemon's data
#      VERBOSE=1           print every step's output, also when it passes
# shellcheck source-path=SCRIPTDIR disable=SC2317  # the flows run through check()
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${SCOPED_BIN:?SCOPED_BIN must name the scoped binary}"
SCOPED_BIN="$(cd "$(dirname "$SCOPED_BIN")" && pwd)/$(basename "$SCOPED_BIN")"
# shellcheck source=../cli/lib.sh
. "$here/../cli/lib.sh"

PLAYWRIGHT_VERSION=1.65.1
CACHE="${SCOPED_CLIENT_CACHE:-$HOME/.cache/scoped-realclient}"
export PLAYWRIGHT_DIR="$CACHE/playwright"
export CHROMIUM="${SCOPED_CHROMIUM:-/usr/bin/chromium}"
ARTIFACTS="${SCOPED_ARTIFACTS:-$(mktemp -d -t scoped-pages-artifacts.XXXXXX)}"
mkdir -p "$ARTIFACTS" && ARTIFACTS="$(cd "$ARTIFACTS" && pwd)"

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
  echo "pages: $passed passed, $failed failed"
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
BIT="$(E2E_INSTALL_ONLY=1 BIT_CLIENT=bitbin283 bash "$here/../cli/e2e.sh" -)" ||
  { echo "cannot install the Bit CLI bitbin283"; failed=1; finish; }

# ---------------------------------------------------------------- the daemon and its accounts
export PUB_SCOPE=pub.pages PRIV_SCOPE=priv.pages NEW_SCOPE=made.bypage
export PAGES_USER=alice PAGES_PASSWORD="alice pages $$" ADMIN_USER=root ADMIN_PASSWORD="root pages $$"
export OUTSIDER=bob
TMP="$(mktemp -d -t scoped-pages.XXXXXX)"
cleanup() {
  scoped_stop
  local left d pid
  for d in /proc/[0-9]*; do  # this test's Chromium and CLI, by id
    pid="${d#/proc/}"
    tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF -- "$TMP" && left="${left:-} $pid"
  done
  # shellcheck disable=SC2086
  [ -n "${left:-}" ] && kill -9 $left 2>/dev/null
  [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMP"
}
trap cleanup EXIT
scoped_start || { failed=1; finish; }
scoped_cmd scope create "$PUB_SCOPE" --public >/dev/null || { failed=1; finish; }
scoped_cmd scope create "$PRIV_SCOPE" >/dev/null || { failed=1; finish; }
printf '%s\n' "$PAGES_PASSWORD" | scoped_cmd user add "$PAGES_USER" --password-stdin >/dev/null || { failed=1; finish; }
printf '%s\n' "$ADMIN_PASSWORD" | scoped_cmd user add "$ADMIN_USER" --admin --password-stdin >/dev/null || { failed=1; finish; }
scoped_cmd user add "$OUTSIDER" >/dev/null || { failed=1; finish; }
scoped_cmd member add "$PUB_SCOPE" "$PAGES_USER" developer >/dev/null || { failed=1; finish; }
scoped_cmd member add "$PRIV_SCOPE" "$PAGES_USER" developer >/dev/null || { failed=1; finish; }
DEV_TOKEN="$(scoped_cmd token create "$PAGES_USER" --name "pages test export")" || { failed=1; finish; }
echo "scoped at $SCOPED_URL_BASE; screenshots in $ARTIFACTS"

export HOME="$TMP/home"
mkdir -p "$HOME"
bit() { timeout -k 5 180 "$BIT" "$@" 2>&1 | grep -v 'running bit as root'; return "${PIPESTATUS[0]}"; }
fail() { echo "PAGES FAILED: $*" >&2; exit 1; }
bit config set analytics_reporting false >/dev/null
bit config set error_reporting false >/dev/null
bit config set user.name "Alice Example" >/dev/null
bit config set user.email "alice@example.com" >/dev/null

export EVIL_TEXT='<script>alert(1)</script>'
# ---------------------------------------------------------------- the CLI exports
export_components() (
  W="$TMP/ws1"; mkdir -p "$W/components/utils/format" "$W/components/app" "$W/components/ui/note"; cd "$W" || fail "cd"
  echo '{"name":"ws1","version":"1.0.0"}' >package.json
  echo "module.exports = (n) => n.toFixed(2);" >components/utils/format/index.js
  printf "const format = require('../utils/format');\nmodule.exports = () => format(1);\n" >components/app/index.js
  printf "// a note that must show as text\nmodule.exports = '%s';\n" "$EVIL_TEXT" >components/ui/note/index.js
  bit init >/dev/null || fail "init"
  bit add components/utils/format --id utils/format >/dev/null || fail "add utils/format"
  bit add components/app >/dev/null || fail "add app"
  bit add components/ui/note --id ui/note >/dev/null || fail "add ui/note"
  bit tag --all 1.0.0 -m "first release" >/dev/null || fail "tag 1.0.0"
  bit remote add "$SCOPED_URL_BASE/$PUB_SCOPE" >/dev/null || fail "remote add"
  bit export "$PUB_SCOPE" --token "$DEV_TOKEN" || fail "export 1.0.0"
  echo "module.exports = (n) => n.toFixed(3);" >components/utils/format/index.js
  bit tag "$PUB_SCOPE/utils/format" 1.0.1 -m "three decimals" >/dev/null || fail "tag 1.0.1"
  bit export "$PUB_SCOPE" --token "$DEV_TOKEN" || fail "export 1.0.1"

  P="$TMP/ws-priv"; mkdir -p "$P/components/secret"; cd "$P" || fail "cd"
  echo '{"name":"wsp","version":"1.0.0"}' >package.json
  echo "module.exports = 'the private secret';" >components/secret/index.js
  bit init >/dev/null || fail "init (private)"
  bit add components/secret >/dev/null || fail "add secret"
  bit tag --all 1.0.0 -m "private" >/dev/null || fail "tag secret"
  bit config set user.token "$DEV_TOKEN" >/dev/null
  bit remote add "$SCOPED_URL_BASE/$PRIV_SCOPE" >/dev/null || fail "remote add (private)"
  bit config del user.token >/dev/null
  bit export "$PRIV_SCOPE" --token "$DEV_TOKEN" || fail "export secret"
)
check "the CLI exports four components to two scopes" export_components

# ---------------------------------------------------------------- the browser
export TOKEN_FILE="$TMP/page-token" REVOKED_FILE="$TMP/revoked-token"
browse() {
  BASE="$SCOPED_URL_BASE" USER_DATA_DIR="$TMP/chromium-profile" SHOT_DIR="$ARTIFACTS" \
    BROWSER_TIMEOUT_MS=150000 timeout -k 5 160 node "$here/pages.mjs"
}
check "the pages in Chromium: browse, sign in, tokens, sign out, admin" browse

# ---------------------------------------------------------------- the page's token and the CLI
page_token_imports() (
  [ -s "$TOKEN_FILE" ] && [ -s "$REVOKED_FILE" ] || fail "the browser left no tokens"
  TOKEN="$(cat "$TOKEN_FILE")"; REVOKED="$(cat "$REVOKED_FILE")"
  W="$TMP/ws2"; mkdir -p "$W"; cd "$W" || fail "cd"
  echo '{"name":"ws2","version":"1.0.0"}' >package.json
  bit init >/dev/null || fail "init (ws2)"
  bit config set user.token "$TOKEN" >/dev/null
  bit remote add "$SCOPED_URL_BASE/$PRIV_SCOPE" >/dev/null || fail "remote add with the page's token"
  bit config del user.token >/dev/null
  echo "--- without a token the private component is not there"
  if bit import "$PRIV_SCOPE/secret" --skip-npm-install >"$TMP/out" 2>&1; then cat "$TMP/out"; fail "import without a token succeeded"; fi
  echo "--- the revoked token is refused"
  if bit import "$PRIV_SCOPE/secret" --skip-npm-install --token "$REVOKED" >"$TMP/out" 2>&1; then cat "$TMP/out"; fail "import with the revoked token succeeded"; fi
  echo "--- the page's token imports it"
  bit import "$PRIV_SCOPE/secret" --skip-npm-install --token "$TOKEN" || fail "import --token with the page's token"
  [ "$(cat components/secret/index.js)" = "module.exports = 'the private secret';" ] || fail "imported content differs"
  grep -qF -- "$TOKEN" "$SCOPED_DATA/log" && fail "the token is in scoped's log"
  grep -q 'scs_' "$SCOPED_DATA/log" && fail "a session secret is in scoped's log"
  echo "PAGE TOKEN OK"
)
check "a token created on the page works with bit import --token; the revoked one does not" page_token_imports
finish
