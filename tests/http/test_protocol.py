"""The rest of the remote protocol, with the bodies bitbin283 sent to the reference server in
captures/ref-283-ops (see its steps.log): `bit list/show/log --remote`, latest versions,
`bit deprecate/undeprecate --remote` (GraphQL mutations), `bit remove --remote`
(POST api/scope/delete); and the modern documents of protocol.md §5 (components with
deprecation and soft-deleted aspects, graph)."""
import json

from bitobj import Obj, component, js_json, sha1, source, version
from client import Client, ScopeClient, expect_error, expect_graphql_errors, expect_json
from harness import SCOPE, capture, case, check, client_id_of, eq

OPS = "ref-283-ops"
UTIL, APP = f"{SCOPE}/util", f"{SCOPE}/app"
UTIL_V1, UTIL_V2 = "6ef5ec4c58f10183cf43f62a20087c5b04014278", "199184c2d377367f08bbcf11b5401b829c98c962"
APP_V1 = "fc116a47d937434435b2dcdaa3c135e2d443f87b"

# the documents as the clients send them (captures/ref-283-ops request bodies; legacy160's
# src/scope/network/http/http.ts for graph; protocol.md §5.2 for the modern list)
LIST_BODY = (OPS, 10)
SHOW_BODY = (OPS, 11)
LOG_BODY = (OPS, 12)
DEPRECATE_BODY = (OPS, 18)
UNDEPRECATE_BODY = (OPS, 19)
DELETE_BODY = (OPS, 24)
LATEST_BODY = (OPS, 28)
GRAPH_QUERY = ("\n      query graph($ids: [String], $filter: String) {\n        graph(ids: $ids, filter: $filter) {\n"
               "          nodes {\n            id\n            component {\n              id {\n"
               "                name\n                version\n                scope\n              }\n"
               "            }\n          }\n          edges {\n            sourceId\n            targetId\n"
               "            dependencyLifecycleType\n          }\n        }\n      }\n    ")
MODERN_LIST = ("query list($namespaces: [String!]) { scope { components(namespaces: $namespaces) "
               "{ id { scope version name } deprecation { isDeprecate } } } }")
MODERN_LIST_DELETED = ("query list($namespaces: [String!], $includeDeleted: Boolean) { scope { components("
                       "namespaces: $namespaces, includeDeleted: $includeDeleted) { id { scope version name } "
                       "deprecation { isDeprecate } aspects(include: [\"teambit.component/remove\"]) { id config } } } }")


def reference(number):
    """What the reference server answered to request NNN of captures/ref-283-ops."""
    return json.loads(capture(OPS, number, "resp"))


def export_ops(s, again=""):
    """The first two exports of the capture: util and app (app depends on util) at 1.0.0, then
    both at 1.0.1."""
    eq(s.export(capture(OPS, 2), client_id_of(OPS, 2) + again), [f"{APP}@1.0.0", f"{UTIL}@1.0.0"],
       "first export")
    eq(sorted(s.export(capture(OPS, 6), client_id_of(OPS, 6) + again)), [f"{APP}@1.0.1", f"{UTIL}@1.0.1"],
       "second export")


def gql_raw(s, body):
    return expect_json(s.graphql(None, raw=capture(*body)), 200, f"GraphQL {body}")


def delete(s, ids, force=False, lanes=False, raw=None):
    body = raw if raw is not None else json.dumps({"ids": ids, "force": force, "lanes": lanes}).encode()
    return s.http.request("POST", f"{s.base}/api/scope/delete", body,
                          {"Content-Type": "application/json", "x-verb": "write"})


def roles(d):
    toks = {}
    for name, role in (("dev", "developer"), ("view", "viewer")):
        d.cli("user", "add", name)
        d.cli("member", "add", SCOPE, name, role)
        toks[name] = d.cli("token", "create", name).stdout.strip()
    return toks


def as_(d, token):
    return ScopeClient(Client("127.0.0.1", d.port, token=token), SCOPE)


def fetched_component(s, id_):
    name = id_.split("/", 1)[1]
    comps = [o for o in s.fetch_objects([id_]).objects.values()
             if o.type == "Component" and o.json()["name"] == name]
    check(len(comps) == 1, f"fetch of {id_}: {len(comps)} Component objects")
    return comps[0].json()


@case("bit list / bit log --remote / latest versions: the reference server's replies, to the byte")
def list_log_latest(ctx):
    s = ctx.daemon().scope()
    export_ops(s)
    eq(gql_raw(s, LIST_BODY), reference(10), "_legacyList (bit list)")
    eq(gql_raw(s, LOG_BODY), reference(12), "getLogs of util (bit log --remote): oldest first, null username")
    eq(gql_raw(s, LATEST_BODY), reference(28), "_legacyLatestVersions")
    eq(s.graphql_data("query ($ids: [String]!) { scope { _legacyLatestVersions(ids: $ids) } }",
                      {"ids": [f"{APP}@1.0.0", UTIL]})["scope"]["_legacyLatestVersions"],
       [f"{APP}@1.0.1", f"{UTIL}@1.0.1"], "latest of two ids (a given version is ignored)")
    log = s.graphql_data("query ($id: String!) { scope { getLogs(id: $id) { hash tag message } } }",
                         {"id": APP})["scope"]["getLogs"]
    eq([(e["tag"], e["message"]) for e in log], [("1.0.0", "v1"), ("1.0.1", "v2 (bump dependencies versions)")],
       "log of app")


@case("getLogs and _legacyLatestVersions of an unknown component: GraphQL errors; _getLegacy: null")
def unknown_ids(ctx):
    s = ctx.daemon().scope()
    export_ops(s)
    for query, variables in [
            ("query ($id: String!) { scope { getLogs(id: $id) { hash } } }", {"id": f"{SCOPE}/nope"}),
            ("query ($id: String!) { scope { getLogs(id: $id) { hash } } }", {"id": "other.scope/util"}),
            ("query ($ids: [String]!) { scope { _legacyLatestVersions(ids: $ids) } }", {"ids": [UTIL, f"{SCOPE}/nope"]}),
            ("query ($ids: [String]!) { scope { _legacyLatestVersions(ids: $ids) } }", {"ids": ["not an id"]})]:
        errors = expect_graphql_errors(s.graphql(query, variables), f"{query} {variables}")
        check(any("not found" in e["message"] for e in errors), f"{variables}: {errors}")
    for missing in [f"{SCOPE}/nope", f"{UTIL}@9.9.9", f"{UTIL}@{'0' * 40}", "x"]:
        eq(s.graphql_data(json.loads(capture(*SHOW_BODY))["query"], {"id": missing}),
           {"scope": {"_getLegacy": None}}, f"_getLegacy of {missing}")


def contents(vinyl):
    """The bytes of a file of _getLegacy, as the client's Buffer.from() reads them: a string is
    UTF-8, {"type":"Buffer","data":[...]} the bytes."""
    c = vinyl["_contents"]
    return c.encode() if isinstance(c, str) else bytes(c["data"])


@case("bit show --remote: _getLegacy is a legacy ConsumerComponent with the files' contents")
def show_legacy(ctx):
    s = ctx.daemon().scope()
    export_ops(s)
    got = json.loads(gql_raw(s, SHOW_BODY)["data"]["scope"]["_getLegacy"])
    want = json.loads(reference(11)["data"]["scope"]["_getLegacy"])
    for key in ["name", "version", "mainFile", "scope", "lang", "bindingPrefix", "compiler", "tester",
                "dependencies", "devDependencies", "packageDependencies", "overrides", "docs", "log",
                "deprecated", "license", "specsResults"]:
        eq(got.get(key), want.get(key), f"_getLegacy {key}")
    eq([(contents(f), f["history"], f["test"]) for f in got["files"]],
       [(contents(f), f["history"], f["test"]) for f in want["files"]], "_getLegacy files")
    eq(got["dists"]["dists"], [], "dists")
    # an old version, and a component with a dependency (ids as strings, as toObject writes them)
    show = json.loads(capture(*SHOW_BODY))["query"]
    old = json.loads(s.graphql_data(show, {"id": f"{UTIL}@1.0.0"})["scope"]["_getLegacy"])
    eq((old["version"], old["log"]["message"]), ("1.0.0", "v1"), "util@1.0.0")
    eq(contents(old["files"][0]).decode().strip(), "module.exports.add = (a, b) => a + b;",
       "util@1.0.0 content")
    app = json.loads(s.graphql_data(show, {"id": APP})["scope"]["_getLegacy"])
    eq([d["id"] for d in app["dependencies"]], [f"{UTIL}@1.0.1"], "app's dependencies")


@case("bit deprecate/undeprecate --remote: the mutations flip the flag in lists and fetched Components, audited")
def deprecate_mutations(ctx):
    d = ctx.daemon()
    s = d.scope()
    export_ops(s)
    toks = roles(d)
    dev, view, anon = as_(d, toks["dev"]), as_(d, toks["view"]), as_(d, None)
    d.cli("scope", "create", "pub.scope", "--public")
    # refused like a write: the read route does not let a viewer or anonymous caller change anything
    expect_error(view.graphql(None, raw=capture(*DEPRECATE_BODY)), 403, 128, "deprecate by a viewer")
    expect_error(anon.graphql(None, raw=capture(*DEPRECATE_BODY)), 404, 129, "deprecate on a private scope, anonymous")
    pub = ScopeClient(Client("127.0.0.1", d.port), "pub.scope")
    expect_error(pub.graphql(None, raw=capture(*DEPRECATE_BODY)), 401, 128, "deprecate on a public scope, anonymous")
    eq(s.legacy_list(), reference(10)["data"]["scope"]["_legacyList"], "nothing deprecated yet")

    eq(expect_json(dev.graphql(None, raw=capture(*DEPRECATE_BODY))), reference(18), "deprecate reply")
    eq(s.legacy_list(), [{"id": f"{APP}@1.0.1", "deprecated": True}, {"id": f"{UTIL}@1.0.1", "deprecated": False}],
       "_legacyList after deprecate")
    eq(fetched_component(s, APP).get("deprecated"), True, "the fetched Component of app")
    eq(fetched_component(s, APP).get("versions"), {"1.0.0": APP_V1, "1.0.1": "ad1dfbc3d131dd8f60e46dd243f37585a06dc842"},
       "the rest of the Component is unchanged")
    eq(json.loads(s.graphql_data(json.loads(capture(*SHOW_BODY))["query"], {"id": APP})["scope"]["_getLegacy"])
       ["deprecated"], True, "_getLegacy of app")

    eq(expect_json(dev.graphql(None, raw=capture(*UNDEPRECATE_BODY))), reference(19), "undeprecate reply")
    eq(s.legacy_list(), reference(10)["data"]["scope"]["_legacyList"], "_legacyList after undeprecate")
    eq(fetched_component(s, APP).get("deprecated"), False, "the fetched Component after undeprecate")

    # unknown ids are reported, the mid-January 2021 form without a selection is accepted
    got = dev.graphql_data("mutation ($bitIds: [String!]!) { deprecate(bitIds: $bitIds) }",
                           {"bitIds": [f"{SCOPE}/nope", f"{UTIL}@1.0.0"]})
    eq(got, {"deprecate": {"bitIds": [UTIL], "missingComponents": [f"{SCOPE}/nope"]}}, "deprecate without selection")
    audit = [line.split("\t") for line in d.cli("audit").stdout.splitlines()]
    acts = [(a[1], a[3], a[5]) for a in audit if a[3] in ("deprecate", "undeprecate")]
    eq(sorted(acts), sorted([("dev", "deprecate", json.dumps([APP], separators=(",", ":"))),
                             ("dev", "undeprecate", json.dumps([APP], separators=(",", ":"))),
                             ("dev", "deprecate", json.dumps([UTIL], separators=(",", ":")))]), "audit")


@case("bit remove --remote: dependents refuse it without --force; the full RemovedObjects shape; audited")
def remove_components(ctx):
    d = ctx.daemon()
    s = d.scope()
    export_ops(s)
    toks = roles(d)
    view, anon, dev = as_(d, toks["view"]), as_(d, None), as_(d, toks["dev"])
    before = s.snapshot([UTIL, APP])
    expect_error(delete(anon, [APP], raw=capture(*DELETE_BODY)), 401, 128, "delete without a token")
    expect_error(delete(view, [APP], raw=capture(*DELETE_BODY)), 403, 128, "delete by a viewer")
    expect_error(delete(dev, None, raw=b'{"ids": "x"}'), 400, 132, "ids not a list")
    expect_error(delete(dev, None, raw=b'[1]'), 400, 132, "not an object")
    expect_error(delete(dev, None, raw=b'{"ids":["no-slash"]}'), 400, 132, "an id without a scope")

    # util has a dependent: nothing is removed, and the client is told who depends on it
    got = expect_json(delete(dev, [UTIL, f"{SCOPE}/nope"]), 200, "delete util")
    eq(got, {"removedComponentIds": [], "missingComponents": [f"{SCOPE}/nope"], "removedDependencies": [],
             "dependentBits": {UTIL: [{"scope": SCOPE, "name": "app"}]}, "removedFromLane": False,
             "removedLanes": []}, "delete of a component with dependents")
    s.expect_unchanged(before, "after the refused delete")

    # app with --force, as bitbin283 sent it: the reference server's reply
    eq(expect_json(delete(dev, None, raw=capture(*DELETE_BODY))), reference(24), "delete app --force")
    eq(gql_raw(s, LIST_BODY), reference(25), "_legacyList after the remove")
    eq(s.fetch_objects([APP]).objects, {}, "fetch of the removed app")
    eq(s.fetch_objects([f"{APP}@1.0.0"]).objects, {}, "fetch of the removed app@1.0.0")
    errors = expect_graphql_errors(s.graphql(json.loads(capture(*LOG_BODY))["query"], {"id": APP}), "log of app")
    check("not found" in errors[0]["message"], f"log of a removed component: {errors}")
    # util is still whole, and now has no dependent
    eq(s.fetch_objects([UTIL]).by_ref(), before["fetch"][UTIL], "util after app's removal")
    got = expect_json(delete(dev, [UTIL]), 200, "delete util without dependents")
    eq(got["removedComponentIds"], [UTIL], "util removed")
    eq(s.legacy_list(), [], "an empty scope")
    eq(expect_json(delete(dev, [UTIL]))["missingComponents"], [UTIL], "a second delete finds nothing")
    audit = [line.split("\t") for line in d.cli("audit").stdout.splitlines() if "\tdelete\t" in line]
    eq(sorted(a[5] for a in audit), sorted([json.dumps({"ids": [APP], "force": True}, separators=(",", ":")),
                                            json.dumps({"ids": [UTIL], "force": False}, separators=(",", ":"))]),
       "delete audit")
    # a re-export brings them back
    export_ops(s, again="-2")
    eq(gql_raw(s, LIST_BODY), reference(10), "_legacyList after exporting again")


@case("delete of components removed together, and lanes: code 138 (no lanes are stored yet)")
def remove_together_and_lanes(ctx):
    s = ctx.daemon().scope()
    export_ops(s)
    got = expect_json(delete(s, [UTIL, APP]), 200, "delete util and app together")
    eq(sorted(got["removedComponentIds"]), [APP, UTIL], "both removed: app's dependency on util does not hold util")
    eq(got["dependentBits"], {}, "dependentBits")
    err = expect_error(delete(s, [f"{SCOPE}/dev"], lanes=True), 404, 138, "delete of a lane")
    eq((err.get("scopeName"), err.get("laneName")), (SCOPE, "dev"), "LaneNotFound fields")
    expect_error(delete(s, ["main"], lanes=True), 400, 132, "delete of main")


def modern_component(name, versions, deps=()):
    """A modern export: Component with head; versions: [(tag or None, extensions)], oldest first,
    each the parent of the next; every Version depends on deps: [(name, version)] of this scope."""
    objs, tags, parent, ver = [], {}, None, None
    dep_ids = [{"scope": SCOPE, "name": n, "version": v} for n, v in deps]
    for i, (tag, exts) in enumerate(versions):
        src = source(f"export const {name.replace('/', '_')} = {i};\n".encode())
        payload = js_json({"files": [{"file": src.ref, "relativePath": "index.ts", "name": "index.ts", "test": False}],
                           "mainFile": "index.ts", "log": {"message": f"v{i}", "date": str(1795305300000 + i),
                                                           "username": "ann", "email": "ann@example.com"},
                           "dependencies": [{"id": d, "relativePaths": []} for d in dep_ids],
                           "devDependencies": [], "flattenedDependencies": dep_ids,
                           "extensions": exts, "parents": [parent] if parent else [], "schema": "1.0.0"})
        ver = Obj("Version", sha1(payload + name.encode()), payload)
        objs += [ver, src]
        if tag:
            tags[tag] = ver.ref
        parent = ver.ref
    comp = Obj("Component", sha1(f"{SCOPE}/{name}".encode()),
               js_json({"name": name, "scope": SCOPE, "versions": tags, "lang": "typescript", "deprecated": False,
                        "bindingPrefix": "@myorg", "remotes": [], "schema": "1.0.0", "head": ver.ref}))
    return [comp] + objs


@case("bit remove --remote of a component with snaps: its Versions, tags and snaps, and VersionHistory all go")
def remove_snaps(ctx):
    from bitobj import make_tar
    d = ctx.daemon(public=True)
    s = d.scope()
    anon = ScopeClient(Client("127.0.0.1", d.port), SCOPE)
    lib = modern_component("lib", [("1.0.0", [])])
    user = modern_component("user", [("1.0.0", []), (None, []), ("1.0.1", []), (None, [])], deps=[("lib", "1.0.0")])
    eq(len(s.export(make_tar(lib + user), "rm-1")), 5, "exported ids")
    versions = [o.ref for o in user if o.type == "Version"]
    head = user[0].json()["head"]
    gone = versions + [user[0].ref, sha1(f"{SCOPE}/user:VersionHistory".encode())]

    def held(refs):
        return sorted(s.fetch_objects(refs, {"type": "object"}, modern=True).objects)

    def dependents_of_lib():
        page = anon.http.request("GET", f"/{SCOPE}/~/lib").body.decode()
        return page.split("Dependents in this scope", 1)[1].split("<h2", 1)[0]

    eq(held(gone), sorted(gone), "before: every Version, the Component and the VersionHistory")
    check("user" in dependents_of_lib(), "before: lib's page lists user as a dependent")
    got = expect_json(delete(s, [f"{SCOPE}/user"]), 200, "delete user")
    eq((got["removedComponentIds"], got["dependentBits"]), ([f"{SCOPE}/user"], {}), "user removed")
    eq(held(gone), [], "after: no Version of user, tag or snap, no Component, no VersionHistory")
    eq(s.fetch_objects([f"{SCOPE}/user@{head}", f"{SCOPE}/user@1.0.0"]).objects, {}, "fetch by snap and by tag")
    check("user" not in dependents_of_lib(), "after: a removed component's snaps still depend on lib")
    eq(held([lib[1].ref]), [lib[1].ref], "lib's Version stays")
    d.cli("fsck")
    # the same component exported again is new: every version merges, the log has them all
    eq(sorted(s.export(make_tar(user), "rm-2")),
       sorted([f"{SCOPE}/user@1.0.0", f"{SCOPE}/user@{versions[1]}", f"{SCOPE}/user@1.0.1", f"{SCOPE}/user@{head}"]),
       "ids of the export after the removal")
    log = s.graphql_data(json.loads(capture(*LOG_BODY))["query"], {"id": f"{SCOPE}/user"})["scope"]["getLogs"]
    eq([e["hash"] for e in log], versions, "log after the new export")


@case("components(namespaces, includeDeleted) of §5.2: deprecation and soft delete from the head Version")
def modern_list(ctx):
    from bitobj import make_tar
    s = ctx.daemon().scope()
    dep = [{"name": "teambit.component/deprecation", "config": {"deprecate": True}, "data": {}}]
    rm = [{"name": "teambit.component/remove", "config": {"removed": True}, "data": {}}]
    button = modern_component("ui/button", [("1.0.0", []), (None, dep)])
    card = modern_component("ui/card", [("1.0.0", rm)])
    old = modern_component("old", [("1.0.0", dep), ("1.0.1", [])])
    s.export(make_tar(button + card + old), "m1")
    head_of_button = button[0].json()["head"]

    got = s.graphql_data(MODERN_LIST, {"namespaces": ["ui/*"]})["scope"]["components"]
    eq(got, [{"id": {"scope": SCOPE, "version": head_of_button, "name": "ui/button"},
              "deprecation": {"isDeprecate": True}}], "ui/* without the deleted card; an untagged head as hash")
    got = s.graphql_data(MODERN_LIST_DELETED, {"namespaces": ["**"], "includeDeleted": True})["scope"]["components"]
    eq([(c["id"]["name"], c["id"]["version"], c["deprecation"]["isDeprecate"], c["aspects"]) for c in got],
       [("old", "1.0.1", False, []), ("ui/button", head_of_button, True, []),
        ("ui/card", "1.0.0", False, [{"id": "teambit.component/remove", "config": {"removed": True}}])],
       "includeDeleted with aspects(include: remove)")
    got = s.graphql_data("{ scope { components(includeDeleted: true) { id { name } aspects(include: [\"x.y/z\"]) "
                         "{ id } } } }")["scope"]["components"]
    eq([c["aspects"] for c in got], [[], [], []], "aspects filtered by include")
    # getLogs walks parents from the head: both versions of button, with username and email
    log = s.graphql_data(json.loads(capture(*LOG_BODY))["query"], {"id": f"{SCOPE}/ui/button"})["scope"]["getLogs"]
    eq([(e["message"], e["tag"], e["username"], e["email"]) for e in log],
       [("v0", "1.0.0", "ann", "ann@example.com"), ("v1", None, "ann", "ann@example.com")], "log of ui/button")
    eq(log[1]["hash"], head_of_button, "the head is last")


@case("deprecation with config.range (§13): a component lists as deprecated while its head tag is in the range")
def deprecation_range(ctx):
    from bitobj import make_tar
    s = ctx.daemon().scope()

    def ranged(rng, deprecate=False):
        return [{"name": "teambit.component/deprecation", "config": {"deprecate": deprecate, "range": rng},
                 "data": {}}]

    def listed():
        got = s.graphql_data(MODERN_LIST, {})["scope"]["components"]
        legacy = {e["id"].split("@")[0]: e["deprecated"] for e in s.legacy_list()}
        eq(sorted(legacy), sorted(f"{SCOPE}/{c['id']['name']}" for c in got), "the two lists name the same")
        for c in got:
            eq(legacy[f"{SCOPE}/{c['id']['name']}"], c["deprecation"]["isDeprecate"], f"_legacyList of {c['id']}")
        return {c["id"]["name"]: (c["id"]["version"], c["deprecation"]["isDeprecate"]) for c in got}

    old = [("1.0.0", []), ("1.0.1", ranged("<1.0.2"))]
    s.export(make_tar(modern_component("old", old)
                      + modern_component("either", [("1.0.0", []), ("3.1.0", ranged("<1.0.0 || >=3.0.0"))])
                      + modern_component("caret", [("1.0.0", []), ("2.0.0", ranged("^1.0.0"))])
                      + modern_component("snap", [("1.0.0", []), (None, ranged("*"))])
                      + modern_component("both", [("1.0.0", ranged(">=5", deprecate=True))])
                      + modern_component("bad", [("1.0.0", ranged("not a range"))])), "range-1")
    snap_head = modern_component("snap", [("1.0.0", []), (None, ranged("*"))])[0].json()["head"]
    eq(listed(), {"old": ("1.0.1", True), "either": ("3.1.0", True), "caret": ("2.0.0", False),
                  "snap": (snap_head, False), "both": ("1.0.0", True), "bad": ("1.0.0", False)},
       "isDeprecate by the head tag and the range")
    # old 1.0.2 is exported with the same range: the head is past it now
    s.export(make_tar(modern_component("old", old + [("1.0.2", ranged("<1.0.2"))])), "range-2")
    eq(listed()["old"], ("1.0.2", False), "old after its 1.0.2 left the range")
    # and 1.0.3 widens the range again
    s.export(make_tar(modern_component("old", old + [("1.0.2", ranged("<1.0.2")), ("1.0.3", ranged("1.x"))])),
             "range-3")
    eq(listed()["old"], ("1.0.3", True), "old after 1.0.3 deprecated 1.x")


def graph_of(s, ids, filter_=None):
    variables = {"ids": ids, **({"filter": filter_} if filter_ else {})}
    g = s.graphql_data(GRAPH_QUERY, variables)["graph"]
    nodes = {n["id"]: n["component"]["id"] for n in g["nodes"]}
    check(len(nodes) == len(g["nodes"]), f"graph of {ids}: a node twice: {g['nodes']}")
    return nodes, sorted((e["sourceId"], e["targetId"], e["dependencyLifecycleType"]) for e in g["edges"])


def with_deps(name, deps=(), dev=()):
    """A first export of name@1.0.0 whose Version depends on deps and dev-depends on dev
    (names in this scope, at 1.0.0)."""
    src = source(f"module.exports = '{name}';\n".encode())
    body = json.loads(version({"index.js": src}, deps=[(SCOPE, d, "1.0.0") for d in deps], comp=name).payload)
    dev_ids = [{"scope": SCOPE, "name": d, "version": "1.0.0"} for d in dev]
    body["devDependencies"] = [{"id": d, "relativePaths": []} for d in dev_ids]
    body["flattenedDependencies"] += dev_ids
    ver = Obj("Version", sha1(js_json(body) + name.encode()), js_json(body))
    return [component(name, {"1.0.0": ver.ref}), ver, src]


@case("graph(ids, filter) at the root (legacy160's document): the ids' versions and what their dependencies reach")
def graph(ctx):
    s = ctx.daemon().scope()
    export_ops(s)
    nodes, edges = graph_of(s, [f"{APP}@1.0.0"])
    eq(sorted(nodes), [f"{APP}@1.0.0", f"{UTIL}@1.0.0"], "nodes of app@1.0.0")
    eq(nodes[f"{UTIL}@1.0.0"], {"name": "util", "version": "1.0.0", "scope": SCOPE}, "a node's component id")
    eq(edges, [(f"{APP}@1.0.0", f"{UTIL}@1.0.0", "RUNTIME")], "edges of app@1.0.0")
    eq(graph_of(s, [APP]), ({f"{APP}@1.0.1": {"name": "app", "version": "1.0.1", "scope": SCOPE},
                             f"{UTIL}@1.0.1": {"name": "util", "version": "1.0.1", "scope": SCOPE}},
                            [(f"{APP}@1.0.1", f"{UTIL}@1.0.1", "RUNTIME")]), "app without a version: its latest")
    eq(graph_of(s, [f"{UTIL}@1.0.0"]), ({f"{UTIL}@1.0.0": {"name": "util", "version": "1.0.0", "scope": SCOPE}}, []),
       "util@1.0.0 has no dependency, and its dependents are not in its graph")
    whole = graph_of(s, [])
    eq(sorted(whole[0]), [f"{APP}@1.0.1", f"{UTIL}@1.0.1"], "ids: [] is the latest of every component")
    eq(graph_of(s, None), whole, "ids: null is the same")
    for missing in [f"{SCOPE}/nope", "other.scope/util"]:
        errors = expect_graphql_errors(s.graphql(GRAPH_QUERY, {"ids": [missing]}), f"graph of {missing}")
        check("not found" in errors[0]["message"], f"graph of {missing}: {errors}")

    # a chain: page -> core -> lib, and page's dev dependency tool; filter runtimeOnly drops dev
    from bitobj import make_tar
    s.export(make_tar(with_deps("lib") + with_deps("tool") + with_deps("core", ["lib"])
                      + with_deps("page", ["core"], ["tool"])), "graph-1")
    at = lambda n: f"{SCOPE}/{n}@1.0.0"  # noqa: E731
    nodes, edges = graph_of(s, [at("page")])
    eq(sorted(nodes), [at("core"), at("lib"), at("page"), at("tool")], "page reaches lib through core")
    eq(edges, [(at("core"), at("lib"), "RUNTIME"), (at("page"), at("core"), "RUNTIME"), (at("page"), at("tool"), "DEV")],
       "edges of page")
    nodes, edges = graph_of(s, [at("page")], "runtimeOnly")
    eq((sorted(nodes), edges), ([at("core"), at("lib"), at("page")],
                                [(at("core"), at("lib"), "RUNTIME"), (at("page"), at("core"), "RUNTIME")]),
       "runtimeOnly")
    eq(sorted(graph_of(s, [at("core"), f"{UTIL}@1.0.1"])[0]), [at("core"), at("lib"), f"{UTIL}@1.0.1"], "two ids")
    eq(len(graph_of(s, [])[0]), 6, "ids: [] with six components")


@case("the new fields still validate: unknown fields, arguments and selections get a GraphQL errors array")
def new_fields_validate(ctx):
    s = ctx.daemon().scope()
    export_ops(s)
    for query in ['{ scope { getLogs(id: "x") { nope } } }', '{ scope { getLogs(id: "x") } }',
                  '{ scope { getLogs(nope: "x") { hash } } }', '{ scope { _getLegacy(id: "x") { name } } }',
                  '{ scope { _legacyLatestVersions(idz: []) } }', '{ graph { nodes { nope } } }',
                  '{ graph(ids: [], bad: 1) { edges { sourceId } } }', 'mutation { nope }',
                  'mutation { deprecate(bitIds: []) { nope } }', 'mutation { scope { name } }',
                  '{ deprecate(bitIds: []) { bitIds } }']:
        expect_graphql_errors(s.graphql(query), f"query {query!r}")


@case("_getLegacy of a binary file: the bytes as a Node Buffer's JSON; files past 8 MiB: a GraphQL error")
def show_binary_and_large(ctx):
    from bitobj import component, make_tar, version
    s = ctx.daemon().scope()
    blob = source(bytes([255, 0, 1, 0xc3]))
    text = source("héllo ✓\n".encode())
    ver = version({"logo.bin": blob, "index.js": text}, comp="pic")
    s.export(make_tar([component("pic", {"1.0.0": ver.ref}), ver, blob, text]), "b1")
    show = json.loads(capture(*SHOW_BODY))["query"]
    got = json.loads(s.graphql_data(show, {"id": f"{SCOPE}/pic"})["scope"]["_getLegacy"])
    eq([f["_contents"] for f in got["files"]], [{"type": "Buffer", "data": [255, 0, 1, 0xc3]}, "héllo ✓\n"],
       "file contents")
    huge = source(b"x" * (8 * 1024 * 1024 + 1))
    ver = version({"index.js": huge}, comp="huge")
    s.export(make_tar([component("huge", {"1.0.0": ver.ref}), ver, huge]), "b2")
    errors = expect_graphql_errors(s.graphql(show, {"id": f"{SCOPE}/huge"}), "_getLegacy of a 8 MiB file")
    check("too large" in errors[0]["message"], f"errors: {errors}")
    eq(s.graphql_data(show, {"id": f"{SCOPE}/pic"})["scope"]["_getLegacy"] is not None, True, "the daemon still answers")


def kept_refs(lane_snap, main_versions):
    return [lane_snap.ref] + main_versions


@case("bit remove --remote keeps what a lane builds on: the lane's snap and every ancestor stay")
def remove_keeps_lane_history(ctx):
    from bitobj import make_tar
    from test_lanes import lane, lane_history, rand_ref, snap
    d = ctx.daemon()
    s = d.scope()
    comp = modern_component("base", [("1.0.0", []), (None, []), ("1.0.1", [])])
    main_versions = [o.ref for o in comp if o.type == "Version"]
    eq(len(s.export(make_tar(comp), "lk-1")), 3, "main export ids")
    lane_snap, lane_src = snap("base", b"export const lane = 1;\n", parents=[main_versions[-1]])
    lref = rand_ref()
    objs = [comp[0], lane_snap, lane_src, lane(lref, "dev", {"base": lane_snap.ref}),
            lane_history(lref, {"h1": {"log": {"date": "1"}, "components": [f"{SCOPE}/base@{lane_snap.ref}"]}})]
    s.export(make_tar(objs), "lk-2")
    opts = {"type": "component", "fetchSchema": "0.0.3", "withoutDependencies": True, "laneId": f"{SCOPE}/dev",
            "allowExternal": True, "ignoreMissingHead": True, "collectParents": True}
    before = s.fetch_objects([f"{SCOPE}/base"], opts, modern=True).objects
    for ref in kept_refs(lane_snap, main_versions):
        check(ref in before, f"before: a laneId fetch with parents serves {ref}")
    got = expect_json(delete(s, [f"{SCOPE}/base"], force=True), 200, "delete base")
    eq(got["removedComponentIds"], [f"{SCOPE}/base"], "base removed from main")
    kept = kept_refs(lane_snap, main_versions)
    eq(sorted(s.fetch_objects(kept, {"type": "object"}, modern=True).objects), sorted(kept),
       "the lane's snap and every Version it builds on stay")
    # the Component leaves main as Bit removes it: the lane's Versions are fetched by hash
    d.cli("fsck")
