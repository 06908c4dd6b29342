"""Lanes as modern clients use them (protocol.md §8.4 B, §8.5, §5.7): a lane export stores the
Lane; a later export moves its heads forward, keeps the scope's where it is ahead, and refuses
diverged ones with 131; fetch type lane, laneId resolution, and the lanes list with main."""
import json
import os

from bitobj import Obj, js_json, make_tar, sha1, source
from client import expect_error, expect_json
from harness import SCOPE, case, check, eq

LANES_QUERY = ("query Lanes($ids: [String!]) { lanes { list(ids: $ids) { id { name scope } "
               "components: laneComponentIds { name scope version } } } }")


def rand_ref():
    return os.urandom(20).hex()


def snap(name, content, parents=()):
    """A modern snap of name: [Version, Source]; the Version's ref is random, as Bit's are."""
    src = source(content)
    payload = js_json({"files": [{"file": src.ref, "relativePath": "index.js", "name": "index.js", "test": False}],
                       "mainFile": "index.js", "log": {"message": "snap", "date": "1795304957148",
                                                       "username": "tester", "email": "t@example.com"},
                       "dependencies": [], "devDependencies": [], "flattenedDependencies": [], "extensions": [],
                       "parents": list(parents), "schema": "1.0.0",
                       "origin": {"id": {"scope": SCOPE, "name": name}}})
    return Obj("Version", rand_ref(), payload), src


def lane_only_component(name):
    """A component that exists only on a lane: no head, no tags."""
    return Obj("Component", sha1(f"{SCOPE}/{name}".encode()),
               js_json({"name": name, "scope": SCOPE, "versions": {}, "lang": "javascript", "deprecated": False,
                        "bindingPrefix": "@myorg", "remotes": [], "schema": "1.0.0"}))


def lane(ref, name, heads):
    return Obj("Lane", ref, js_json({"name": name, "scope": SCOPE, "components": [
        {"id": {"scope": SCOPE, "name": n}, "head": h} for n, h in heads.items()],
        "log": {"date": "1795304957148", "username": "tester"}, "schema": "1.0.0"}))


def lane_history(lane_ref, entries):
    return Obj("LaneHistory", sha1(f"{lane_ref}:LaneHistory".encode()),
               js_json({"name": "dev", "scope": SCOPE, "laneHash": lane_ref, "history": entries}))


@case("lanes: export a new lane, fetch it by type lane and by laneId, list it beside main")
def lane_roundtrip(ctx):
    d = ctx.daemon()
    d.start()
    s = d.scope()
    v1, s1 = snap("button", b"export default 1;\n")
    lref = rand_ref()
    objs = [lane_only_component("button"), v1, s1, lane(lref, "dev", {"button": v1.ref}),
            lane_history(lref, {"h1": {"log": {"date": "1"}, "components": [f"{SCOPE}/button@{v1.ref}"]}})]
    eq(s.export(make_tar(objs), "lane-1"), [f"{SCOPE}/button@{v1.ref}"], "lane export ids")

    reply = s.fetch_objects([f"{SCOPE}/dev"], {"type": "lane", "includeLaneHistory": True}, modern=True)
    check(lref in reply.objects, "the Lane object is served")
    check(objs[4].ref in reply.objects, "its LaneHistory is served")
    eq(reply.objects[lref].payload, objs[3].payload, "Lane payload as uploaded")
    expect_error(s.fetch([f"{SCOPE}/nope"], {"type": "lane"}, modern=True), 404, 138, "an unknown lane")

    opts = {"type": "component", "fetchSchema": "0.0.3", "withoutDependencies": True, "laneId": f"{SCOPE}/dev",
            "allowExternal": True, "ignoreMissingHead": True, "includeVersionHistory": True}
    reply = s.fetch_objects([f"{SCOPE}/button"], opts, modern=True)
    for o in objs[:3]:
        check(o.ref in reply.objects, f"laneId fetch serves {o.type} {o.ref}")
    # without the lane, a lane-only component has no head on main: nothing to send
    main = dict(opts)
    del main["laneId"]
    check(objs[1].ref not in s.fetch_objects([f"{SCOPE}/button"], main, modern=True).objects,
          "a lane-only component is not served on main")

    data = s.graphql_data(LANES_QUERY, {"ids": []})["lanes"]["list"]
    names = sorted(x["id"]["name"] for x in data)
    eq(names, ["dev", "main"], "lanes listed")
    dev = [x for x in data if x["id"]["name"] == "dev"][0]
    eq(dev["components"], [{"name": "button", "scope": SCOPE, "version": v1.ref}], "dev's components")
    eq([x["id"]["name"] for x in s.graphql_data(LANES_QUERY, {"ids": [f"{SCOPE}/dev"]})["lanes"]["list"]],
       ["dev"], "a lane by id")


@case("lanes: a later export moves heads forward, keeps the scope's when ahead, refuses diverged (131)")
def lane_merge(ctx):
    d = ctx.daemon()
    d.start()
    s = d.scope()
    v1, s1 = snap("card", b"1\n")
    lref = rand_ref()
    eq(s.export(make_tar([lane_only_component("card"), v1, s1, lane(lref, "dev", {"card": v1.ref})]), "m1"),
       [f"{SCOPE}/card@{v1.ref}"], "first lane export")
    v2, s2 = snap("card", b"2\n", parents=[v1.ref])
    eq(s.export(make_tar([lane_only_component("card"), v2, s2, lane(lref, "dev", {"card": v2.ref})]), "m2"),
       [f"{SCOPE}/card@{v2.ref}"], "the lane moves forward")
    # an older client re-exports the lane at v1: the scope is ahead and keeps v2
    eq(s.export(make_tar([lane_only_component("card"), lane(lref, "dev", {"card": v1.ref})]), "m3"), [],
       "nothing merged when the scope is ahead")
    head = [x for x in s.graphql_data(LANES_QUERY, {"ids": []})["lanes"]["list"] if x["id"]["name"] == "dev"][0]
    eq(head["components"][0]["version"], v2.ref, "the lane's head after an older export")
    # diverged: a snap on v1 that does not know v2
    v3, s3 = snap("card", b"3\n", parents=[v1.ref])
    eq(s.put(make_tar([lane_only_component("card"), v3, s3, lane(lref, "dev", {"card": v3.ref})]), "m4").status,
       200, "put")
    err = expect_error(s.action("ExportValidate", clientId="m4", isResumingExport=True), None, 131, "diverged")
    eq(err.get("idsNeedUpdate"), [{"id": f"{SCOPE}/card", "lane": "dev", "isDeleted": False}], "idsNeedUpdate")
    s.action("RemovePendingDir", clientId="m4")
    # a lane of the same name with another hash is refused
    v4, s4 = snap("card", b"4\n", parents=[v2.ref])
    eq(s.put(make_tar([lane_only_component("card"), v4, s4, lane(rand_ref(), "dev", {"card": v4.ref})]),
             "m5").status, 200, "put")
    expect_error(s.action("ExportValidate", clientId="m5", isResumingExport=True), 400, 132, "another dev lane")


@case("lanes: a lane entry whose head was never exported is refused and nothing is written")
def lane_missing_head(ctx):
    d = ctx.daemon()
    d.start()
    s = d.scope()
    eq(s.put(make_tar([lane_only_component("x"), lane(rand_ref(), "broken", {"x": rand_ref()})]), "b1").status,
       200, "put")
    expect_error(s.action("ExportPersist", clientId="b1"), 400, 132, "a lane with an unexported head")
    eq([x["id"]["name"] for x in s.graphql_data(LANES_QUERY, {"ids": []})["lanes"]["list"]], ["main"],
       "no lane was written")


@case("lanes: delete refuses main, unknown lanes (138) and unmerged lanes without force")
def lane_delete(ctx):
    d = ctx.daemon()
    d.start()
    s = d.scope()
    v1, s1 = snap("chip", b"1\n")
    s.export(make_tar([lane_only_component("chip"), v1, s1, lane(rand_ref(), "feature", {"chip": v1.ref})]), "d1")

    def delete(ids, force=False):
        return s.http.request("POST", f"/{SCOPE}/api/scope/delete",
                              json.dumps({"ids": ids, "force": force, "lanes": True}).encode(),
                              {"Content-Type": "application/json", "x-verb": "write"})

    expect_error(delete([f"{SCOPE}/main"]), 400, 132, "removing main")
    expect_error(delete([f"{SCOPE}/nope"]), 404, 138, "removing an unknown lane")
    expect_error(delete([f"{SCOPE}/feature"]), 400, 132, "removing a lane not merged into main")
    def lane_objects():
        import sqlite3
        db = sqlite3.connect(f"file:{d.data / 'index.db'}?mode=ro", uri=True, timeout=30)
        try:
            return db.execute("SELECT count(*) FROM objects WHERE type IN ('Lane', 'LaneHistory')").fetchone()[0]
        finally:
            db.close()

    check(lane_objects() >= 1, "the lane's Lane object (and LaneHistory, when sent) before its removal")
    reply = expect_json(delete([f"{SCOPE}/feature"], force=True), 200, "forced removal")
    eq(lane_objects(), 0, "the removed lane's Lane and LaneHistory objects (gc reclaims their blobs)")
    eq(reply.get("removedLanes"), [f"{SCOPE}/feature"], "removedLanes")
    for key in ("removedComponentIds", "missingComponents", "dependentBits", "removedFromLane"):
        check(key in reply, f"delete reply has {key}")
    eq([x["id"]["name"] for x in s.graphql_data(LANES_QUERY, {"ids": []})["lanes"]["list"]], ["main"],
       "the lane is gone")
    expect_error(s.fetch([f"{SCOPE}/feature"], {"type": "lane"}, modern=True), 404, 138, "fetch of the removed lane")
