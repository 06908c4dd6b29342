#!/usr/bin/env bash
# The rest of the remote protocol as one client generation's real CLI uses it: an app with a
# dependency, namespaced names and a wildcard import, bit list/log/show against the remote (an
# old version too, and legacy160's --dependencies graph), remote deprecation, an incremental
# export, a conflicting export from another workspace, and bit remove --remote with and without
# dependents.
# usage: protocol.sh CLIENT SCOPE   (with SCOPED_BIN, TOKEN_DEV and a daemon from lib.sh)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
client="${1:?usage: protocol.sh bitbin283|legacy160 SCOPE}"
SCOPE="${2:?usage: protocol.sh CLIENT SCOPE}"
BIT="$(E2E_INSTALL_ONLY=1 BIT_CLIENT="$client" bash "$here/e2e.sh" -)" || exit 1
: "${SCOPED_URL_BASE:?}" "${TOKEN_DEV:?}"
URL="$SCOPED_URL_BASE/$SCOPE"

TMP="$(mktemp -d -t scoped-protocol.XXXXXX)"
trap '[ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMP"' EXIT
export HOME="$TMP/home"
[ "$client" = legacy160 ] && export NODE_OPTIONS="--require $here/legacy-issues.js"
mkdir -p "$HOME"
bit() { "$BIT" "$@" 2>&1 | grep -v 'running bit as root'; return "${PIPESTATUS[0]}"; }
fail() { echo "PROTOCOL FAILED ($client): $*" >&2; exit 1; }
step() { echo "--- $*"; }
bit config set analytics_reporting false >/dev/null
bit config set error_reporting false >/dev/null
bit config set user.token "$TOKEN_DEV" >/dev/null

workspace() {  # DIR: a fresh workspace with the remote added, defaultScope SCOPE
  mkdir -p "$1" && cd "$1" || fail "mkdir $1"
  printf '{"name":"%s","version":"1.0.0","bit":{"env":{},"componentsDefaultDirectory":"components/{name}","packageManager":"npm","defaultScope":"%s"}}\n' \
    "$(basename "$1")" "$SCOPE" > package.json
  bit init >/dev/null || fail "init in $1"
  bit remote add "$URL" >/dev/null || fail "remote add in $1"
}

UTIL1="module.exports.add = (a, b) => a + b; // $client v1"
UTIL2="module.exports.add = (a, b) => b + a; // $client v2"
APP="const util = require('../util/index.js'); module.exports = () => util.add(1, 2);"

step "workspace 1: util, app (requires util), ui/button, ui/card; tag 1.0.0 and export"
W1="$TMP/ws1"; workspace "$W1"
mkdir -p components/util components/app components/ui/button components/ui/card
printf '%s\n' "$UTIL1" > components/util/index.js
printf '%s\n' "$APP" > components/app/index.js
printf 'module.exports = "button";\n' > components/ui/button/index.js
printf 'module.exports = "card";\n' > components/ui/card/index.js
bit add components/util --id util >/dev/null || fail "add util"
bit add components/app --id app >/dev/null || fail "add app"
bit add components/ui/button --id ui/button >/dev/null || fail "add ui/button"
bit add components/ui/card --id ui/card >/dev/null || fail "add ui/card"
bit tag --all 1.0.0 -m "first of all" >"$TMP/out" || { cat "$TMP/out"; fail "tag 1.0.0"; }
bit export "$SCOPE" >"$TMP/out" || { cat "$TMP/out"; fail "export"; }
grep -q "exported 4 components" "$TMP/out" || { cat "$TMP/out"; fail "export did not report 4 components"; }

step "bit list $SCOPE: the four components"
bit list "$SCOPE" >"$TMP/list" || { cat "$TMP/list"; fail "bit list"; }
for c in util app ui/button ui/card; do
  grep -q "$SCOPE/$c" "$TMP/list" || { cat "$TMP/list"; fail "bit list lacks $c"; }
done

step "workspace 2: importing app brings util, its dependency"
W2="$TMP/ws2"; workspace "$W2"
bit import "$SCOPE/app" --skip-npm-install >"$TMP/out" || { cat "$TMP/out"; fail "import app"; }
# the require of util is rewritten to where the dependency was written
grep -rqs --exclude-dir=node_modules "util.add(1, 2)" components/app || { cat .bitmap; fail "app's content differs"; }
grep -q "\"$SCOPE/util@1.0.0\"" .bitmap || { cat .bitmap; fail ".bitmap lacks the dependency util@1.0.0"; }
dep="$(find components/.dependencies -path '*util*' -name index.js 2>/dev/null | head -1)"
[ -n "$dep" ] || { find components; fail "util was not imported as app's dependency"; }
[ "$(cat "$dep")" = "$UTIL1" ] || fail "the dependency util has other content: $(cat "$dep")"

step "workspace 3: wildcard import $SCOPE/ui/*"
W3="$TMP/ws3"; workspace "$W3"
bit import "$SCOPE/ui/*" --skip-npm-install >"$TMP/out" || { cat "$TMP/out"; fail "import ui/*"; }
grep -q "\"$SCOPE/ui/button@1.0.0\"" .bitmap && grep -q "\"$SCOPE/ui/card@1.0.0\"" .bitmap \
  || { cat "$TMP/out" .bitmap; fail "wildcard import lacks ui/button or ui/card"; }
grep -q "$SCOPE/util\|$SCOPE/app" .bitmap && fail "wildcard import brought more than ui/*"
[ "$(cat components/ui/card/index.js)" = 'module.exports = "card";' ] || fail "ui/card content"

step "incremental export: util 1.0.1 from workspace 1"
cd "$W1" || fail "cd"
printf '%s\n' "$UTIL2" > components/util/index.js
bit tag util 1.0.1 -m "util second" >"$TMP/out" || { cat "$TMP/out"; fail "tag util 1.0.1"; }
bit export "$SCOPE" >"$TMP/out" || { cat "$TMP/out"; fail "incremental export"; }
bit list "$SCOPE" >"$TMP/list" || fail "bit list after the incremental export"
grep -q "$SCOPE/util.*1\.0\.1" "$TMP/list" || { cat "$TMP/list"; fail "bit list does not show util 1.0.1"; }

step "bit log $SCOPE/util --remote: both versions, oldest first"
bit log "$SCOPE/util" --remote >"$TMP/log" || { cat "$TMP/log"; fail "bit log --remote"; }
grep -q "first of all" "$TMP/log" && grep -q "util second" "$TMP/log" || { cat "$TMP/log"; fail "log lacks a message"; }
first="$(grep -n "first of all" "$TMP/log" | head -1 | cut -d: -f1)"
second="$(grep -n "util second" "$TMP/log" | head -1 | cut -d: -f1)"
# the CLI prints the remote log newest first
[ "$second" -lt "$first" ] || { cat "$TMP/log"; fail "log order"; }

step "bit show $SCOPE/app --remote"
bit show "$SCOPE/app" --remote >"$TMP/show" || { cat "$TMP/show"; fail "bit show --remote"; }
# tagging util 1.0.1 auto-tagged its dependent app 1.0.1
grep -q "app@1.0.1" "$TMP/show" && grep -q "$SCOPE/util@1.0.1" "$TMP/show" && grep -q "components/app/index.js" "$TMP/show" \
  || { cat "$TMP/show"; fail "bit show --remote lacks the name, version or dependency"; }
bit show "$SCOPE/util" --remote --json >"$TMP/show" || { cat "$TMP/show"; fail "bit show --remote --json"; }
grep -q '"version": "1.0.1"' "$TMP/show" || { cat "$TMP/show"; fail "bit show util: not 1.0.1"; }
bit show "$SCOPE/util@1.0.0" --remote --json >"$TMP/show" || { cat "$TMP/show"; fail "bit show util@1.0.0 --remote"; }
python3 - "$TMP/show" "$UTIL1" <<'EOF' || { cat "$TMP/show"; fail "bit show util@1.0.0: not the first version"; }
import json, sys
text = open(sys.argv[1]).read()
shown = json.loads(text[text.index("{"):])
shown = shown.get("component", shown)
files = [f["_contents"] for f in shown["files"]]
files = [bytes(c["data"]).decode() if isinstance(c, dict) else c for c in files]
assert (shown["version"], files) == ("1.0.0", [sys.argv[2] + "\n"]), (shown["version"], files)
EOF
if [ "$client" = legacy160 ]; then  # bitbin283's HTTP class has no graph() ("Method not implemented")
  step "bit show $SCOPE/app@1.0.0 --remote --dependencies --dependents: the remote graph of app@1.0.0"
  bit show "$SCOPE/app@1.0.0" --remote --dependencies --dependents --json >"$TMP/show" \
    || { cat "$TMP/show"; fail "bit show --remote --dependencies"; }
  python3 - "$TMP/show" "$SCOPE" <<'EOF' || { cat "$TMP/show"; fail "bit show --remote --dependencies: not util@1.0.0"; }
import json, sys
text = open(sys.argv[1]).read()
shown = json.loads(text[text.index("{"):])
deps = [(d["id"], d["depth"]) for d in shown["dependenciesInfo"]]
assert deps == [({"scope": sys.argv[2], "name": "util", "version": "1.0.0"}, 1)], deps
assert shown["dependentsInfo"] == [], shown["dependentsInfo"]
EOF
fi

step "bit deprecate $SCOPE/app --remote: bit list shows it; undeprecate clears it"
bit deprecate "$SCOPE/app" --remote >"$TMP/out" || { cat "$TMP/out"; fail "deprecate --remote"; }
grep -q "deprecated" "$TMP/out" || { cat "$TMP/out"; fail "deprecate said nothing about it"; }
bit list "$SCOPE" >"$TMP/list" || fail "bit list after deprecate"
grep -q "$SCOPE/app \[Deprecated\]" "$TMP/list" || { cat "$TMP/list"; fail "list does not show app deprecated"; }
grep -q "$SCOPE/util \[Deprecated\]" "$TMP/list" && fail "util shown deprecated"
bit undeprecate "$SCOPE/app" --remote >"$TMP/out" || { cat "$TMP/out"; fail "undeprecate --remote"; }
bit list "$SCOPE" >"$TMP/list" || fail "bit list after undeprecate"
grep -q "Deprecated" "$TMP/list" && { cat "$TMP/list"; fail "app still deprecated"; }

step "a conflicting export from workspace 4 (its own util@1.0.1) gets the merge-conflict message"
W4="$TMP/ws4"; workspace "$W4"
mkdir -p components/util
printf 'module.exports.add = () => "conflict";\n' > components/util/index.js
bit add components/util --id util >/dev/null || fail "add util in ws4"
bit tag --all 1.0.1 -m conflict >/dev/null || fail "tag in ws4"
if bit export "$SCOPE" >"$TMP/out"; then cat "$TMP/out"; fail "the conflicting export succeeded"; fi
grep -q "merge conflict occurred when exporting the component(s) $SCOPE/util (version(s): 1.0.1)" "$TMP/out" \
  || { cat "$TMP/out"; fail "no merge-conflict message"; }
W5="$TMP/ws5"; workspace "$W5"
bit import "$SCOPE/util" --skip-npm-install >"$TMP/out" || { cat "$TMP/out"; fail "import util after the conflict"; }
[ "$(cat components/util/index.js)" = "$UTIL2" ] || fail "the first export's util@1.0.1 was not kept: $(cat components/util/index.js)"

step "bit remove $SCOPE/util --remote: refused, app depends on it"
cd "$W5" || fail "cd"
bit remove "$SCOPE/util" --remote --silent >"$TMP/out" 2>&1
grep -q "unable to delete $SCOPE/util, because the following components depend on it" "$TMP/out" \
  && grep -q "$SCOPE/app" "$TMP/out" || { cat "$TMP/out"; fail "no dependents message"; }
bit list "$SCOPE" >"$TMP/list" || fail "list after the refused remove"
grep -q "$SCOPE/util" "$TMP/list" || { cat "$TMP/list"; fail "util is gone after a refused remove"; }

step "bit remove $SCOPE/util --remote --force, then $SCOPE/ui/card without dependents"
bit remove "$SCOPE/util" --remote --force --silent >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "remove --force"; }
grep -q "successfully removed components from the remote scope" "$TMP/out" || { cat "$TMP/out"; fail "remove --force said"; }
bit remove "$SCOPE/ui/card" --remote --silent >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "remove ui/card"; }
grep -q "successfully removed" "$TMP/out" || { cat "$TMP/out"; fail "remove ui/card said"; }
bit list "$SCOPE" >"$TMP/list" || fail "list after remove"
grep -q "$SCOPE/util\|$SCOPE/ui/card" "$TMP/list" && { cat "$TMP/list"; fail "removed components still listed"; }
grep -q "$SCOPE/app" "$TMP/list" && grep -q "$SCOPE/ui/button" "$TMP/list" || { cat "$TMP/list"; fail "others gone"; }
W6="$TMP/ws6"; workspace "$W6"
if bit import "$SCOPE/ui/card" --skip-npm-install >"$TMP/out"; then cat "$TMP/out"; fail "a removed component is importable"; fi

echo "PROTOCOL OK ($client)"
