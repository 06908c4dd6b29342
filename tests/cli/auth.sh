#!/usr/bin/env bash
# Who may read and export, as the real Bit CLI sees it (one client generation per run):
# private scopes refuse anonymous remote add and export, a viewer imports but cannot export,
# a developer does both, a revoked token stops working, anyone imports from a public scope.
# usage: auth.sh CLIENT   (with SCOPED_BIN, and a daemon from lib.sh's scoped_start)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
client="${1:?usage: auth.sh bitbin283|legacy160}"
BIT="$(E2E_INSTALL_ONLY=1 BIT_CLIENT="$client" bash "$here/e2e.sh" -)" || exit 1
: "${SCOPED_URL_BASE:?}" "${TOKEN_DEV:?}" "${TOKEN_VIEW:?}" "${TOKEN_VIEW_ID:?}"

TMP="$(mktemp -d -t scoped-auth.XXXXXX)"
trap '[ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMP"' EXIT
export HOME="$TMP/home"
mkdir -p "$HOME"
bit() { "$BIT" "$@" 2>&1 | grep -v 'running bit as root'; return "${PIPESTATUS[0]}"; }
fail() { echo "AUTH FAILED ($client): $*" >&2; exit 1; }
bit config set analytics_reporting false >/dev/null
bit config set error_reporting false >/dev/null

PRIV="$SCOPED_URL_BASE/priv.scope"
PUB="$SCOPED_URL_BASE/pub.scope"
NAME="auth-$client-$$"
CONTENT="module.exports = () => '$NAME';"

W1="$TMP/ws1"; mkdir -p "$W1/components/$NAME"; cd "$W1"
echo '{"name":"ws1","version":"1.0.0"}' > package.json
printf '%s\n' "$CONTENT" > "components/$NAME/index.js"
bit init >/dev/null || fail "init"
bit add "components/$NAME" >/dev/null || fail "add"
bit tag --all 1.0.0 >/dev/null || fail "tag"

echo "--- remote add of a private scope without a token fails"
if bit remote add "$PRIV" >"$TMP/out" 2>&1; then cat "$TMP/out"; fail "remote add without a token succeeded"; fi
grep -q "not found" "$TMP/out" || { cat "$TMP/out"; fail "remote add did not say the scope was not found"; }

echo "--- with a token it works"
bit config set user.token "$TOKEN_VIEW" >/dev/null
bit remote add "$PRIV" | grep -q "added remote scope 'priv.scope'" || fail "remote add with a token"
bit remote add "$PUB" >/dev/null || fail "remote add of the public scope"
bit config del user.token >/dev/null

echo "--- export without a token: Bit's permission message, nothing written"
if bit export priv.scope "$NAME" >"$TMP/out" 2>&1; then cat "$TMP/out"; fail "export without a token succeeded"; fi
grep -q "permission to scope .* was denied" "$TMP/out" || { cat "$TMP/out"; fail "no permission message"; }
grep -q "\"priv.scope/$NAME@1.0.0\"" .bitmap && fail ".bitmap claims an export"

echo "--- export with a viewer token is refused"
if bit export priv.scope "$NAME" --token "$TOKEN_VIEW" >"$TMP/out" 2>&1; then cat "$TMP/out"; fail "viewer export succeeded"; fi
grep -q "permission to scope .* was denied" "$TMP/out" || { cat "$TMP/out"; fail "no permission message for a viewer"; }

echo "--- nothing reached the scope"
W0="$TMP/ws0"; mkdir -p "$W0"; cd "$W0"
echo '{"name":"ws0","version":"1.0.0"}' > package.json
bit init >/dev/null
bit config set user.token "$TOKEN_VIEW" >/dev/null
bit remote add "$PRIV" >/dev/null || fail "remote add (ws0)"
bit config del user.token >/dev/null
if bit import "priv.scope/$NAME" --skip-npm-install --token "$TOKEN_VIEW" >"$TMP/out" 2>&1; then
  cat "$TMP/out"; fail "a refused export is importable"
fi

echo "--- export with a developer token works"
cd "$W1"
bit export priv.scope "$NAME" --token "$TOKEN_DEV" || fail "developer export"
grep -q "\"priv.scope/$NAME@1.0.0\"" .bitmap || fail ".bitmap not updated after export"

echo "--- a viewer imports it"
W2="$TMP/ws2"; mkdir -p "$W2"; cd "$W2"
echo '{"name":"ws2","version":"1.0.0"}' > package.json
bit init >/dev/null
bit config set user.token "$TOKEN_VIEW" >/dev/null
bit remote add "$PRIV" >/dev/null || fail "remote add (ws2)"
bit config del user.token >/dev/null
bit import "priv.scope/$NAME" --skip-npm-install --token "$TOKEN_VIEW" || fail "viewer import"
[ "$(cat "components/$NAME/index.js")" = "$CONTENT" ] || fail "imported content differs"

echo "--- without a token the private component cannot be imported"
W3="$TMP/ws3"; mkdir -p "$W3"; cd "$W3"
echo '{"name":"ws3","version":"1.0.0"}' > package.json
bit init >/dev/null
cp "$W2/.bit/scope.json" .bit/scope.json 2>/dev/null || true
bit config set user.token "$TOKEN_VIEW" >/dev/null
bit remote add "$PRIV" >/dev/null
bit config del user.token >/dev/null
if bit import "priv.scope/$NAME" --skip-npm-install >"$TMP/out" 2>&1; then cat "$TMP/out"; fail "anonymous import of a private scope succeeded"; fi

echo "--- after the viewer's token is revoked it fails"
"$SCOPED_BIN" --data "$SCOPED_DATA/data" token revoke "$TOKEN_VIEW_ID" || fail "token revoke"
if bit import "priv.scope/$NAME" --skip-npm-install --token "$TOKEN_VIEW" >"$TMP/out" 2>&1; then
  cat "$TMP/out"; fail "a revoked token still imports"
fi

echo "--- a public scope: developer exports, anyone imports"
cd "$W1"
PNAME="pub-$NAME"
mkdir -p "components/$PNAME"
printf '%s\n' "module.exports = 'public $NAME';" > "components/$PNAME/index.js"
bit add "components/$PNAME" >/dev/null || fail "add public"
bit tag "$PNAME" 1.0.0 >/dev/null || fail "tag public"
bit export pub.scope "$PNAME" --token "$TOKEN_DEV" || fail "export to the public scope"
W4="$TMP/ws4"; mkdir -p "$W4"; cd "$W4"
echo '{"name":"ws4","version":"1.0.0"}' > package.json
bit init >/dev/null
bit remote add "$PUB" >/dev/null || fail "anonymous remote add of a public scope"
bit import "pub.scope/$PNAME" --skip-npm-install || fail "anonymous import from a public scope"
grep -q "public $NAME" "components/$PNAME/index.js" || fail "public import content differs"

echo "AUTH OK: $client"
