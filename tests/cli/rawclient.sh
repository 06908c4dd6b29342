#!/usr/bin/env bash
# Bit's own HTTP class (@teambit/legacy 1.0.160, the modern protocol: x-client-version and
# .BIT.START/.BIT.END checked by Bit's own stream parser) with modern fetch options:
# delta fetches, lane fetches, the lanes it lists.
# usage: rawclient.sh   (with SCOPED_BIN, SCOPED_URL_BASE, SCOPED_DATA and TOKEN_DEV from run.sh)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
BIT="$(E2E_INSTALL_ONLY=1 BIT_CLIENT=legacy160 bash "$here/e2e.sh" -)" || exit 1
PKG="$(dirname "$BIT")/node_modules/@teambit/legacy"
TMP="$(mktemp -d -t scoped-raw.XXXXXX)"
trap '[ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMP"' EXIT
export HOME="$TMP/home"
mkdir -p "$HOME"
URL="$SCOPED_URL_BASE/myorg.myscope"
bit() { "$BIT" "$@" 2>&1 | grep -v 'running bit as root'; return "${PIPESTATUS[0]}"; }
raw() { BIT_BIN_DIR="$PKG" node "$here/raw-client.js" "$URL" "$@"; }
fail() { echo "RAW CLIENT FAILED: $*" >&2; exit 1; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

bit config set analytics_reporting false >/dev/null
bit config set user.token "$TOKEN_DEV" >/dev/null
NAME="raw-$$"
W="$TMP/ws"; mkdir -p "$W/components/$NAME"; cd "$W"
echo '{"name":"ws","version":"1.0.0"}' > package.json
echo "module.exports = 1;" > "components/$NAME/index.js"
bit init >/dev/null && bit add "components/$NAME" >/dev/null && bit tag --all 1.0.0 >/dev/null || fail "tag 1.0.0"
bit remote add "$URL" >/dev/null || fail "remote add"
bit export myorg.myscope "$NAME" >/dev/null || fail "export 1.0.0"
echo "module.exports = 2;" > "components/$NAME/index.js"
bit tag "$NAME" 1.0.1 >/dev/null && bit export myorg.myscope "$NAME" >/dev/null || fail "export 1.0.1"

echo "--- the component as Bit's own parser reads it"
OUT="$(raw fetch "[\"myorg.myscope/$NAME\"]" '{"type":"component","withoutDependencies":false}')" || fail "fetch"
V100="$(echo "$OUT" | jq_py "print([o for o in d if o['type']=='Component'][0]['versions']['1.0.0'])")"
V101="$(echo "$OUT" | jq_py "print([o for o in d if o['type']=='Component'][0]['versions']['1.0.1'])")"
[ ${#V100} -eq 40 ] && [ ${#V101} -eq 40 ] || fail "versions not found in $OUT"

DELTA='{"type":"component-delta","fetchSchema":"0.0.3","withoutDependencies":true,"includeArtifacts":false,"allowExternal":false,"ignoreMissingHead":true,"collectParents":false,"returnNothingIfGivenVersionExists":true}'
echo "--- a delta fetch from the current head returns nothing"
OUT="$(raw fetch "[\"myorg.myscope/$NAME@$V101\"]" "$DELTA")" || fail "delta fetch (current)"
[ "$OUT" = "[]" ] || fail "delta fetch of a current client returned $OUT"
echo "--- a delta fetch from 1.0.0 returns exactly what is missing"
OUT="$(raw fetch "[\"myorg.myscope/$NAME@$V100\"]" "$DELTA")" || fail "delta fetch (behind)"
echo "$OUT" | jq_py "
vs=sorted(o['ref'] for o in d if o['type']=='Version')
assert vs==['$V101'], vs
assert [o for o in d if o['type']=='Component'], 'no Component'
" || fail "delta fetch from 1.0.0 returned $OUT"

echo "--- a lane, fetched by type and used by laneId"
read -r LANE_REF SNAP_REF < <(python3 "$here/lane-export.py" "$URL" "$TOKEN_DEV") || fail "lane export"
OUT="$(raw fetch '["myorg.myscope/dev"]' '{"type":"lane"}')" || fail "lane fetch"
echo "$OUT" | jq_py "
l=[o for o in d if o['type']=='Lane']
assert l and l[0]['ref']=='$LANE_REF' and l[0]['components']==['myorg.myscope/lanecomp@$SNAP_REF'], d
" || fail "lane fetch returned $OUT"
OUT="$(raw fetch '["myorg.myscope/lanecomp"]' '{"type":"component","fetchSchema":"0.0.3","withoutDependencies":true,"laneId":"myorg.myscope/dev","allowExternal":true,"ignoreMissingHead":true}')" || fail "laneId fetch"
echo "$OUT" | jq_py "assert any(o['ref']=='$SNAP_REF' for o in d), d" || fail "laneId fetch returned $OUT"
if raw fetch '["myorg.myscope/nolane"]' '{"type":"lane"}' >"$TMP/out" 2>&1; then fail "an unknown lane was fetched"; fi
grep -qi "lane" "$TMP/out" || { cat "$TMP/out"; fail "no lane-not-found error"; }
echo "RAW CLIENT OK"
