#!/usr/bin/env bash
# Bit's own HTTP class (@teambit/legacy 1.0.160, the modern protocol: x-client-version and
# .BIT.START/.BIT.END checked by Bit's own stream parser) with modern fetch options, and every
# GraphQL query and mutation and the delete route as that class sends them: delta fetches,
# VersionHistory after several exports, list/latest/log/show/graph, deprecate and undeprecate,
# lanes exported, fetched, listed and deleted, components deleted with and without dependents.
# usage: rawclient.sh   (with SCOPED_BIN, SCOPED_URL_BASE, SCOPED_DATA and TOKEN_DEV from run.sh)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
BIT="$(E2E_INSTALL_ONLY=1 BIT_CLIENT=legacy160 bash "$here/e2e.sh" -)" || exit 1
PKG="$(dirname "$BIT")/node_modules/@teambit/legacy"
TMP="$(mktemp -d -t scoped-raw.XXXXXX)"
trap '[ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMP"' EXIT
export HOME="$TMP/home"
# legacy160 tags a component with a dependency only with its issue classes preloaded (as protocol.sh)
export NODE_OPTIONS="--require $here/legacy-issues.js"
mkdir -p "$HOME"
S=myorg.myscope
URL="$SCOPED_URL_BASE/$S"
bit() { "$BIT" "$@" 2>&1 | grep -v 'running bit as root'; return "${PIPESTATUS[0]}"; }
raw() { BIT_BIN_DIR="$PKG" node "$here/raw-client.js" "$URL" "$@"; }
fail() { echo "RAW CLIENT FAILED: $*" >&2; exit 1; }
step() { echo "--- $*"; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
# a request Bit's class refuses: it must fail, and its message must contain $1
raw_fails() {  # WANT, raw args...
  local want="$1"; shift
  if raw "$@" >"$TMP/out" 2>&1; then cat "$TMP/out"; fail "raw $* succeeded"; fi
  grep -q -- "$want" "$TMP/out" || { cat "$TMP/out"; fail "raw $*: no \"$want\" in its error"; }
}
# the error code of a fetch the server refuses (Bit's class maps 138 to a generic error)
fetch_error_code() {  # IDS_JSON OPTIONS_JSON
  python3 - "$URL" "$TOKEN_DEV" "$1" "$2" <<'EOF'
import json, sys, urllib.error, urllib.request
url, token, ids, opts = sys.argv[1:]
req = urllib.request.Request(f"{url}/api/scope/fetch", json.dumps({"ids": json.loads(ids), "fetchOptions": json.loads(opts)}).encode(),
                             {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
try:
    urllib.request.urlopen(req).read()
    print("ok")
except urllib.error.HTTPError as e:
    print(json.loads(e.read())["error"]["code"])
EOF
}

bit config set analytics_reporting false >/dev/null
bit config set user.token "$TOKEN_DEV" >/dev/null
# the scope also holds what the other CLI tests exported: lists are read for this run's names only
RUN="$(date +%s)-$$"
NAME="raw-$RUN"; APP="raw-app-$RUN"
mine="lambda i: i.split('@')[0].endswith('-$RUN')"
W="$TMP/ws"; mkdir -p "$W/components/$NAME" "$W/components/$APP"; cd "$W"
echo '{"name":"ws","version":"1.0.0"}' > package.json
echo "module.exports = 1;" > "components/$NAME/index.js"
echo "const n = require('../$NAME/index.js'); module.exports = () => n;" > "components/$APP/index.js"
bit init >/dev/null && bit add "components/$NAME" >/dev/null && bit add "components/$APP" >/dev/null \
  && bit tag --all 1.0.0 >/dev/null || fail "tag 1.0.0"
bit remote add "$URL" >/dev/null || fail "remote add"
bit export "$S" "$NAME" "$APP" >"$TMP/out" || { cat "$TMP/out"; fail "export 1.0.0"; }
for v in 1.0.1 1.0.2; do
  echo "module.exports = '$v';" > "components/$NAME/index.js"
  # tagging NAME auto-tags its dependent APP to the same patch
  bit tag "$NAME" "$v" >"$TMP/out" && bit export "$S" "$NAME" "$APP" >>"$TMP/out" \
    || { cat "$TMP/out"; fail "export $v"; }
done

step "the component as Bit's own parser reads it"
OUT="$(raw fetch "[\"$S/$NAME\"]" '{"type":"component","withoutDependencies":false}')" || fail "fetch"
read -r V100 V101 V102 < <(echo "$OUT" | jq_py "
c=[o for o in d if o['type']=='Component'][0]['versions']
print(c['1.0.0'], c['1.0.1'], c['1.0.2'])") || fail "versions not found in $OUT"
[ ${#V100} -eq 40 ] && [ ${#V101} -eq 40 ] && [ ${#V102} -eq 40 ] || fail "versions not found in $OUT"

DELTA='{"type":"component-delta","fetchSchema":"0.0.3","withoutDependencies":true,"includeArtifacts":false,"allowExternal":false,"ignoreMissingHead":true,"collectParents":false,"returnNothingIfGivenVersionExists":true}'
step "a delta fetch from the current head returns nothing"
OUT="$(raw fetch "[\"$S/$NAME@$V102\"]" "$DELTA")" || fail "delta fetch (current)"
[ "$OUT" = "[]" ] || fail "delta fetch of a current client returned $OUT"
step "a delta fetch from 1.0.1 returns exactly what is missing"
OUT="$(raw fetch "[\"$S/$NAME@$V101\"]" "$DELTA")" || fail "delta fetch (behind)"
echo "$OUT" | jq_py "
vs=sorted(o['ref'] for o in d if o['type']=='Version')
assert vs==['$V102'], vs
assert [o for o in d if o['type']=='Component'], 'no Component'
" || fail "delta fetch from 1.0.1 returned $OUT"

HISTORY='{"type":"component","fetchSchema":"0.0.3","withoutDependencies":true,"includeArtifacts":false,"allowExternal":false,"collectParents":true,"includeVersionHistory":true}'
# legacy160 has no VersionHistory model: Bit's raw-object reader splits it and its JSON is checked
check_history() {  # NAME, expected {ref: [parents]} as JSON, expected graphCompleteRefs as JSON
  OUT="$(raw fetch "[\"$S/$1\"]" "$HISTORY")" || fail "fetch of $1 with its VersionHistory"
  echo "$OUT" | python3 -c "
import hashlib, json, sys
d = json.load(sys.stdin)
want, complete = json.loads(sys.argv[1]), json.loads(sys.argv[2])
h = [o for o in d if o['type'] == 'VersionHistory']
assert len(h) == 1, f'{len(h)} VersionHistory objects'
h = h[0]
ref = hashlib.sha1('$S/$1:VersionHistory'.encode()).hexdigest()
assert h['ref'] == ref and h['header'][:2] == ['VersionHistory', ref], (h['ref'], h['header'])
c = h['content']
assert (c['name'], c['scope']) == ('$1', '$S'), c
got = {v['hash']: v['parents'] for v in c['versions']}
assert len(got) == len(c['versions']), 'a version twice'
assert got == want, f'VersionHistory versions {got}, exported {want}'
parsed = {o['ref']: o['parents'] for o in d if o['type'] == 'Version'}
assert parsed == want, f'the Versions as Bit parsed them: {parsed}'
assert c['graphCompleteRefs'] == complete, c['graphCompleteRefs']
" "$2" "$3" || fail "VersionHistory of $1: $OUT"
}
step "VersionHistory after three exports by the CLI (legacy tags: no head, no parents)"
check_history "$NAME" "{\"$V100\":[],\"$V101\":[],\"$V102\":[]}" '[]'
OUT="$(raw fetch "[\"$S/$NAME\"]" "${HISTORY/\"includeVersionHistory\":true/\"includeVersionHistory\":false}")" \
  || fail "fetch without VersionHistory"
echo "$OUT" | jq_py "assert not [o for o in d if o['type']=='VersionHistory'], d" || fail "VersionHistory not asked for: $OUT"
step "VersionHistory after three exports of a modern component (head, each tag the parent of the next)"
CHAIN="chain-$RUN"
read -r C0 C1 C2 < <(python3 "$here/chain-export.py" "$URL" "$TOKEN_DEV" "$CHAIN" 3) || fail "chain export"
[ ${#C2} -eq 40 ] || fail "chain export printed no refs"
check_history "$CHAIN" "{\"$C0\":[],\"$C1\":[\"$C0\"],\"$C2\":[\"$C1\"]}" "[\"$C2\"]"

step "describe, list, latest, log, show: Bit's own GraphQL documents"
OUT="$(raw describe)" || fail "describe"
[ "$OUT" = "{\"name\":\"$S\"}" ] || fail "describeScope: $OUT"
OUT="$(raw list)" || fail "list"
echo "$OUT" | jq_py "
got={e['id']: e['deprecated'] for e in d if ($mine)(e['id'])}
assert got=={'$S/$NAME@1.0.2': False, '$S/$APP@1.0.2': False, '$S/$CHAIN@1.0.2': False}, got" || fail "list: $OUT"
OUT="$(raw list "$APP")" || fail "list with a namespace"
echo "$OUT" | jq_py "assert [e['id'] for e in d]==['$S/$APP@1.0.2'], d" || fail "list $APP: $OUT"
OUT="$(raw latest "$S/$NAME@1.0.0" "$S/$CHAIN")" || fail "latest"
[ "$OUT" = "[\"$S/$NAME@1.0.2\",\"$S/$CHAIN@1.0.2\"]" ] || fail "latestVersions: $OUT"
OUT="$(raw log "$S/$NAME")" || fail "log"
echo "$OUT" | jq_py "assert [(e['hash'], e['tag']) for e in d]==[('$V100','1.0.0'),('$V101','1.0.1'),('$V102','1.0.2')], d" \
  || fail "log: $OUT"
OUT="$(raw show "$S/$NAME@1.0.1")" || fail "show"
echo "$OUT" | jq_py "
assert (d['name'], d['scope'], d['version'])==('$NAME', '$S', '1.0.1'), d
assert [f['contents'] for f in d['files']]==[\"module.exports = '1.0.1';\n\"], d['files']" || fail "show: $OUT"
OUT="$(raw show "$S/$APP")" || fail "show app"
echo "$OUT" | jq_py "assert d['version']=='1.0.2' and d['dependencies']==['$S/$NAME@1.0.2'], d" || fail "show app: $OUT"
raw_fails "not found" log "$S/nope-$RUN"

step "graph: the version asked for and its dependencies; without an id, the latest of every component"
OUT="$(raw graph "$S/$APP@1.0.1")" || fail "graph of app@1.0.1"
echo "$OUT" | jq_py "
assert d=={'nodes': sorted(['$S/$APP@1.0.1', '$S/$NAME@1.0.1']),
           'edges': [['$S/$APP@1.0.1', '$S/$NAME@1.0.1', 'dependencies']]}, d" || fail "graph of app@1.0.1: $OUT"
OUT="$(raw graph "$S/$NAME@1.0.0")" || fail "graph of $NAME@1.0.0"
[ "$OUT" = "{\"nodes\":[\"$S/$NAME@1.0.0\"],\"edges\":[]}" ] || fail "graph of $NAME@1.0.0: $OUT"
OUT="$(raw graph)" || fail "graph of the scope"
echo "$OUT" | jq_py "
mine=$mine
assert [n for n in d['nodes'] if mine(n)]==sorted(['$S/$APP@1.0.2','$S/$NAME@1.0.2','$S/$CHAIN@1.0.2']), d['nodes']
assert [e for e in d['edges'] if mine(e[0])]==[['$S/$APP@1.0.2','$S/$NAME@1.0.2','dependencies']], d['edges']" \
  || fail "graph: $OUT"

step "deprecate and undeprecate: Bit's mutations, and the list after each"
OUT="$(raw deprecate "$S/$NAME" "$S/nope-$RUN")" || fail "deprecate"
[ "$OUT" = "{\"bitIds\":[\"$S/$NAME\"],\"missingComponents\":[\"$S/nope-$RUN\"]}" ] || fail "deprecate: $OUT"
raw list | jq_py "assert {e['id']: e['deprecated'] for e in d}['$S/$NAME@1.0.2'] is True, d" || fail "not deprecated"
OUT="$(raw undeprecate "$S/$NAME")" || fail "undeprecate"
[ "$OUT" = "{\"bitIds\":[\"$S/$NAME\"],\"missingComponents\":[]}" ] || fail "undeprecate: $OUT"
raw list | jq_py "assert not any(e['deprecated'] for e in d if ($mine)(e['id'])), d" || fail "still deprecated"

step "components (§5.2's document through Bit's transport): components with a head only"
OUT="$(raw components)" || fail "components"
echo "$OUT" | jq_py "
got=[c for c in d if ($mine)(c['id']['name'])]
assert got==[{'id': {'scope': '$S', 'version': '1.0.2', 'name': '$CHAIN'}, 'deprecation': {'isDeprecate': False}}], d" \
  || fail "components: $OUT"
OUT="$(raw components '["nomatch*"]' include-deleted)" || fail "components with includeDeleted"
[ "$OUT" = "[]" ] || fail "components of nomatch*: $OUT"

step "a lane: exported, fetched by type and used by laneId"
read -r LANE_REF SNAP_REF < <(python3 "$here/lane-export.py" "$URL" "$TOKEN_DEV") || fail "lane export"
OUT="$(raw fetch "[\"$S/dev\"]" '{"type":"lane"}')" || fail "lane fetch"
echo "$OUT" | jq_py "
l=[o for o in d if o['type']=='Lane']
assert l and l[0]['ref']=='$LANE_REF' and l[0]['components']==['$S/lanecomp@$SNAP_REF'], d
" || fail "lane fetch returned $OUT"
OUT="$(raw fetch "[\"$S/lanecomp\"]" "{\"type\":\"component\",\"fetchSchema\":\"0.0.3\",\"withoutDependencies\":true,\"laneId\":\"$S/dev\",\"allowExternal\":true,\"ignoreMissingHead\":true}")" \
  || fail "laneId fetch"
echo "$OUT" | jq_py "assert any(o['ref']=='$SNAP_REF' for o in d), d" || fail "laneId fetch returned $OUT"
raw_fails "was not found" fetch "[\"$S/nolane\"]" '{"type":"lane"}'

step "lanes listed: legacy160's own listLanes document is not GraphQL; §5.7's lists dev and main"
raw_fails "Syntax Error" lanes
OUT="$(raw modern-lanes)" || fail "Lanes"
echo "$OUT" | jq_py "
got={l['id']['name']: (l['id']['scope'], [c for c in l['components'] if c['name']=='lanecomp' or ($mine)(c['name'])])
     for l in d}
assert got=={'dev': ('$S', [{'name': 'lanecomp', 'scope': '$S', 'version': '$SNAP_REF'}]),
             'main': ('$S', [{'name': '$CHAIN', 'scope': '$S', 'version': '1.0.2'}])}, got" || fail "Lanes: $OUT"
OUT="$(raw modern-lanes "$S/dev")" || fail "Lanes of dev"
echo "$OUT" | jq_py "assert [l['id']['name'] for l in d]==['dev'], d" || fail "Lanes of dev: $OUT"
OUT="$(raw modern-lanes main)" || fail "Lanes of main"
echo "$OUT" | jq_py "assert [l['id']['name'] for l in d]==['main'], d" || fail "Lanes of main: $OUT"

step "lane delete through Bit's deleteMany: unmerged needs force, then the lane is gone (138)"
raw_fails "not fully merged" delete "[\"$S/dev\"]" no-force lanes
OUT="$(raw delete "[\"$S/dev\"]" force lanes)" || fail "lane delete --force"
echo "$OUT" | jq_py "assert d['removedLanes']==['$S/dev'] and d['removedComponentIds']==[], d" || fail "lane delete: $OUT"
raw_fails "lane $S/dev was not found" fetch "[\"$S/dev\"]" '{"type":"lane"}'
[ "$(fetch_error_code "[\"$S/dev\"]" '{"type":"lane"}')" = 138 ] || fail "fetch of the deleted lane: not code 138"
OUT="$(raw modern-lanes)" || fail "Lanes after the delete"
echo "$OUT" | jq_py "assert [l['id']['name'] for l in d]==['main'], d" || fail "Lanes after the delete: $OUT"
raw_fails "was not found" delete "[\"$S/dev\"]" force lanes
raw_fails "cannot be removed" delete '["main"]' force lanes

step "component delete through Bit's deleteMany: dependents hold it back, then both go"
OUT="$(raw delete "[\"$S/$NAME\"]" no-force components)" || fail "delete $NAME"
echo "$OUT" | jq_py "
assert d['removedComponentIds']==[] and d['dependentBits']=={'$S/$NAME': ['$S/$APP']}, d" || fail "delete with a dependent: $OUT"
raw list | jq_py "assert '$S/$NAME@1.0.2' in [e['id'] for e in d], d" || fail "$NAME is gone after a refused delete"
OUT="$(raw delete "[\"$S/$APP\",\"$S/nope-$RUN\"]" no-force components)" || fail "delete $APP"
echo "$OUT" | jq_py "assert d['removedComponentIds']==['$S/$APP'] and d['missingComponents']==['$S/nope-$RUN'], d" \
  || fail "delete $APP: $OUT"
OUT="$(raw delete "[\"$S/$NAME\"]" no-force components)" || fail "delete $NAME without its dependent"
echo "$OUT" | jq_py "assert d['removedComponentIds']==['$S/$NAME'] and d['dependentBits']=={}, d" || fail "delete $NAME: $OUT"
OUT="$(raw fetch "[\"$S/$NAME\",\"$S/$NAME@$V101\"]" "$HISTORY")" || fail "fetch after the delete"
[ "$OUT" = "[]" ] || fail "fetch of a deleted component: $OUT"
raw list | jq_py "assert [e['id'] for e in d if ($mine)(e['id'])]==['$S/$CHAIN@1.0.2'], d" || fail "list after the deletes"
echo "RAW CLIENT OK"
