"""An incremental export with dependencies, then imports, as in captures/ref-283-ops: bitbin283
exports util@1.0.0 and app@1.0.0 (app depends on util), then util@1.0.1 and app@1.0.1 (app@1.0.1
pins util@1.0.1); the reference server's fetch replies of that session are the expected ones."""
import json

from bitobj import objects_of_tar
from client import expect_json
from harness import SCOPE, capture, case, client_id_of, eq

CAP = "ref-283-ops"
APP, UTIL = f"{SCOPE}/app", f"{SCOPE}/util"
WITHOUT_DEPS = {"type": "component", "withoutDependencies": True, "includeArtifacts": False}


def export_both(s):
    """The two exports of the session, each with the exact requests of the CLI."""
    uploaded = {}
    for put, validate, persist in [(2, 3, 4), (6, 7, 8)]:
        body = capture(CAP, put)
        uploaded.update(objects_of_tar(body))
        eq(expect_json(s.put(body, client_id_of(CAP, put)), 200, f"put {put:03d}"), [], "put reply")
        eq(expect_json(s.action(None, raw=capture(CAP, validate)), 200, "ExportValidate"), {}, "ExportValidate")
        ids = expect_json(s.action(None, raw=capture(CAP, persist)), 200, "ExportPersist")
        want = json.loads(capture(CAP, persist, "resp"))
        eq(sorted(ids), sorted(want), f"ExportPersist of put {put:03d}")
        eq(len(ids), len(want), f"ExportPersist of put {put:03d}: number of ids")
    return uploaded


def reference_reply(number):
    """{ref: Obj} of the reference server's fetch reply NNN, without its ScopeMeta."""
    return {r: o for r, o in objects_of_tar(capture(CAP, number, "resp")).items() if o.type != "ScopeMeta"}


def expect_reply(reply, want, what):
    """Versions and Sources are stored as uploaded, byte for byte; a Component that an export
    merged into the stored one may be written anew (another zlib stream of the same payload)."""
    reply.expect_exactly(want, what, rewritten={r for r, o in want.items() if o.type == "Component"})


@case("incremental export (2 puts, 4 versions) answers the ids of each export; the list shows the latest")
def incremental_export(ctx):
    s = ctx.daemon().scope()
    export_both(s)
    eq(s.legacy_list(), json.loads(capture(CAP, 10, "resp"))["data"]["scope"]["_legacyList"], "_legacyList")


@case("import app brings all its versions and its dependency util@1.0.1 (Component, pinned Version, Sources)")
def import_with_dependency(ctx):
    s = ctx.daemon().scope()
    export_both(s)
    # the Components are those of the second put, which lists both versions of each
    expect_reply(s.fetch_objects(None, raw=capture(CAP, 14)), reference_reply(14), f"fetch {APP}")


@case("import util@1.0.0 brings the Component with all versions; app and util together share objects")
def import_old_version_and_two(ctx):
    s = ctx.daemon().scope()
    export_both(s)
    expect_reply(s.fetch_objects(None, raw=capture(CAP, 16)), reference_reply(16), f"fetch {UTIL}@1.0.0")
    expect_reply(s.fetch_objects(None, raw=capture(CAP, 17)), reference_reply(17), f"fetch {APP} {UTIL}")


@case("withoutDependencies:true brings only the requested version of that component and its Sources")
def import_without_dependencies(ctx):
    s = ctx.daemon().scope()
    uploaded = export_both(s)
    # util (latest = 1.0.1), as the reference server answered the raw client
    expect_reply(s.fetch_objects(None, raw=capture(CAP, 34)), reference_reply(34), f"fetch {UTIL} without deps")
    by_name = {}
    for o in uploaded.values():
        if o.type == "Component":
            by_name[o.json()["name"]] = o
    for comp, tag in [("app", "1.0.1"), ("app", "1.0.0"), ("util", "1.0.0")]:
        c = by_name[comp]
        v = uploaded[c.json()["versions"][tag]]
        want = {c.ref, v.ref, *(f["file"] for f in v.json()["files"])}
        ident = f"{SCOPE}/{comp}" + ("" if (comp, tag) == ("app", "1.0.1") else f"@{tag}")
        expect_reply(s.fetch_objects([ident], WITHOUT_DEPS), {r: uploaded[r] for r in want},
                     f"fetch {ident} without deps")


@case("unknown ids in a fetch are skipped: 200, and the reply holds only the known ones")
def import_unknown_ids(ctx):
    s = ctx.daemon().scope()
    export_both(s)
    reply = s.fetch_objects(None, raw=capture(CAP, 15))   # myorg.myscope/nope
    eq(reply.refs(), set(), "fetch of an unknown component: objects besides ScopeMeta")
    for ids in [[f"{SCOPE}/nope", f"{UTIL}@1.0.0"], [f"{UTIL}@1.0.0", f"{APP}@9.9.9"],
                [f"{SCOPE}/nope@1.0.0", f"{UTIL}@1.0.0", f"{SCOPE}/ui/nope"]]:
        expect_reply(s.fetch_objects(ids), reference_reply(16), f"fetch {ids}")
    eq(s.fetch_objects([]).refs(), set(), "fetch of no ids")
    # a modern client gets the markers around whatever there is, nothing included
    eq(s.fetch_objects([f"{SCOPE}/nope"], modern=True).refs(), set(), "modern fetch of an unknown component")
    expect_reply(s.fetch_objects([f"{SCOPE}/nope", f"{UTIL}@1.0.0"], modern=True), reference_reply(16),
                 "modern fetch of an unknown and a known component")
