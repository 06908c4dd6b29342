"""What ExportValidate refuses: a merge conflict (another workspace exported a hello@1.0.0 of its
own), a dependency the scope does not have, a component without the Versions it lists."""
from bitobj import component, make_tar, objects_of_tar, sha1, source, version
from client import expect_error, expect_json
from harness import SCOPE, capture, case, check, client_id_of, eq

HELLO = f"{SCOPE}/hello"


def rival_hello():
    """hello@1.0.0 as another workspace tagged it: other content, so another Version hash."""
    src = source("module.exports = function hello() { return 'hellö from elsewhere ✓'; };\n".encode())
    ver = version({"index.js": src}, message="another first", comp="hello")
    return [component("hello", {"1.0.0": ver.ref}), ver, src]


def expect_conflict(resp, what):
    err = expect_error(resp, None, 131, what)
    want = [{"id": HELLO, "versions": ["1.0.0"]}]
    for key in ["idsAndVersions", "idsAndVersionsWithConflicts"]:   # the old client reads the first
        got = err.get(key)
        check(isinstance(got, list), f"{what}: error.{key} missing in {err}")
        eq([{k: e.get(k) for k in ("id", "versions")} for e in got], want, f"{what}: error.{key}")
    check(isinstance(err.get("idsNeedUpdate", []), list), f"{what}: error.idsNeedUpdate is not a list")


@case("a different hello@1.0.0: ExportValidate and ExportPersist answer code 131 with the ids and versions")
def merge_conflict(ctx):
    s = ctx.daemon().scope()
    eq(s.export(capture("ref-283", 4), client_id_of("ref-283", 4)), [f"{HELLO}@1.0.0"], "first export")
    before = s.snapshot([HELLO, f"{HELLO}@1.0.0"])

    rival = rival_hello()
    check(rival[1].ref not in before["fetch"][HELLO] and rival[0].ref in before["fetch"][HELLO],
          "the rival has the Component hash of hello and another Version hash")
    client_id = "1795305355831"
    eq(expect_json(s.put(make_tar(rival), client_id), 200, "put of the rival"), [], "put reply")
    expect_conflict(s.action("ExportValidate", clientId=client_id, isResumingExport=False), "ExportValidate")
    s.expect_unchanged(before, "after the conflicting ExportValidate")
    expect_conflict(s.action("ExportPersist", clientId=client_id), "ExportPersist")
    s.expect_unchanged(before, "after the conflicting ExportPersist")

    # the client then gives up its export
    eq(expect_json(s.action("RemovePendingDir", clientId=client_id), 200, "RemovePendingDir"), {}, "RemovePendingDir")
    s.expect_no_pending(client_id)
    s.expect_unchanged(before, "after RemovePendingDir")
    reply = s.fetch_objects([HELLO])
    check(rival[1].ref not in reply.objects and rival[2].ref not in reply.objects,
          "the rival's Version or Source came back in the fetch")


@case("a re-export of the very same hello@1.0.0 is no conflict (a no-op merge)")
def same_version_again(ctx):
    s = ctx.daemon().scope()
    body = capture("ref-283", 4)
    s.export(body, "1")
    before = s.snapshot([HELLO])
    ids = s.export(body, "2")
    check(ids in ([], [f"{HELLO}@1.0.0"]), f"ExportPersist of a re-export: {ids}")
    s.expect_unchanged(before, "after the re-export")


@case("a dependency neither in the scope nor uploaded: ExportValidate answers code 127 with id and dependentId")
def missing_dependency(ctx):
    s = ctx.daemon().scope()
    eq(s.export(capture("ref-283", 4), "1"), [f"{HELLO}@1.0.0"], "first export")
    before = s.snapshot([HELLO])
    src = source(b"module.exports = require('../nope');\n")
    ver = version({"index.js": src}, comp="needy", deps=[(SCOPE, "nope", "1.0.0")])
    body = make_tar([component("needy", {"1.0.0": ver.ref}), ver, src])
    eq(expect_json(s.put(body, "2"), 200, "put"), [], "put reply")
    err = expect_error(s.action("ExportValidate", clientId="2", isResumingExport=False), None, 127, "ExportValidate")
    eq(err.get("id"), f"{SCOPE}/nope@1.0.0", "error.id (ComponentNotFound reads it)")
    dependent = err.get("dependentId")
    check(isinstance(dependent, str) and dependent.split("@")[0] == f"{SCOPE}/needy",
          f"error.dependentId names the dependent component: {dependent!r}")
    eq(expect_json(s.action("RemovePendingDir", clientId="2"), 200, "RemovePendingDir"), {}, "RemovePendingDir")
    s.expect_unchanged(before, "after the refused export")
    # a dependency on a version of hello the scope has is fine, and so is one of another scope:
    # that one is the other scope's business, and a fetch does not bring it
    ver = version({"index.js": src}, comp="needy", deps=[(SCOPE, "hello", "1.0.0"), ("other.scope", "x", "1.0.0")])
    needy = [component("needy", {"1.0.0": ver.ref}), ver, src]
    eq(s.export(make_tar(needy), "3"), [f"{SCOPE}/needy@1.0.0"], "export with dependencies")
    hello = s.fetch_objects([HELLO]).objects
    s.fetch_objects([f"{SCOPE}/needy"]).expect_exactly(needy + [o for o in hello.values() if o.type != "ScopeMeta"],
                                                       "fetch of needy (with hello@1.0.0)")


@case("a new component whose Component lists a Version not uploaded: ExportValidate fails, nothing written")
def missing_version(ctx):
    s = ctx.daemon().scope()
    eq(s.export(capture("ref-283", 4), "1"), [f"{HELLO}@1.0.0"], "first export")
    before = s.snapshot([HELLO])
    src = source(b"module.exports = 'two';\n")
    ver = version({"index.js": src}, comp="two")
    body = make_tar([component("two", {"1.0.0": sha1(b"not uploaded"), "1.0.1": ver.ref}), ver, src])
    eq(expect_json(s.put(body, "2"), 200, "put"), [], "put reply")
    expect_error(s.action("ExportValidate", clientId="2", isResumingExport=False), None, None, "ExportValidate")
    expect_error(s.action("ExportPersist", clientId="2"), None, None, "ExportPersist")
    s.expect_unchanged(before, "after the refused export")
    eq(s.fetch_objects([f"{SCOPE}/two@1.0.1"]).refs(), set(), "fetch of the refused component")


@case("a Version may use a Source the scope already has without uploading it again")
def source_already_in_scope(ctx):
    s = ctx.daemon().scope()
    uploaded = objects_of_tar(capture("ref-283", 4))
    eq(s.export(capture("ref-283", 4), "1"), [f"{HELLO}@1.0.0"], "first export")
    hello_src = next(o for o in uploaded.values() if o.type == "Source")
    ver = version({"index.js": hello_src}, comp="again")
    body = make_tar([component("again", {"1.0.0": ver.ref}), ver])
    eq(s.export(body, "2"), [f"{SCOPE}/again@1.0.0"], "export of a component reusing hello's Source")
    reply = s.fetch_objects([f"{SCOPE}/again"])
    check(hello_src.ref in reply.objects, "the fetch of the new component brings the Source it uses")
    eq(reply.objects[hello_src.ref].compressed, hello_src.compressed, "bytes of the shared Source")
