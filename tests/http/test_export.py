"""`bit export` then `bit import`, with the bodies the real CLI sent (captures/ref-283: bitbin283
exporting myorg.myscope/hello@1.0.0; captures/e2e-ref-legacy160: @teambit/legacy 1.0.160)."""
import json
import tarfile

from bitobj import make_tar, new_component, objects_of_tar
from client import expect_json
from harness import SCOPE, capture, capture_request, case, check, client_id_of, eq

HELLO = f"{SCOPE}/hello"
HELLO_PUT = ("ref-283", 4)          # put of Component hello, Version 1.0.0, one Source


def export_hello(s, chunked=True, client_id=None):
    body = capture(*HELLO_PUT)
    client_id = client_id or client_id_of(*HELLO_PUT)
    eq(s.export(body, client_id, chunked), [f"{HELLO}@1.0.0"], "ExportPersist ids")
    return objects_of_tar(body)


def check_round_trip(s, uploaded, modern=False):
    """bitbin283's import of hello brings back every uploaded object byte for byte, and a ScopeMeta."""
    reply = s.fetch_objects(None, raw=capture("ref-283", 9), modern=modern)
    reply.expect_exactly(uploaded, f"fetch of {HELLO}")
    return reply


@case("export hello (chunked put as node-fetch sends it): put [], ExportValidate {}, ExportPersist ids")
def export_chunked(ctx):
    s = ctx.daemon().scope()
    client_id = client_id_of(*HELLO_PUT)
    eq(capture_request(*HELLO_PUT)["headers"].get("Transfer-Encoding"), "chunked", "the captured put")
    eq(expect_json(s.put(capture(*HELLO_PUT), client_id, chunked=True), 200, "put"), [], "put reply")
    eq(expect_json(s.action(None, raw=capture("ref-283", 5)), 200, "ExportValidate"), {}, "ExportValidate reply")
    eq(expect_json(s.action(None, raw=capture("ref-283", 6)), 200, "ExportPersist"), [f"{HELLO}@1.0.0"],
       "ExportPersist reply")
    # bitbin283 retries ExportPersist when it did not get the answer: same ids again
    eq(expect_json(s.action(None, raw=capture("ref-283", 6)), 200, "ExportPersist retry"), [f"{HELLO}@1.0.0"],
       "ExportPersist retry reply")
    eq(expect_json(s.action(None, raw=capture("ref-283", 7)), 200, "FetchMissingDeps"), {}, "FetchMissingDeps")
    eq(s.legacy_list(), [{"id": f"{HELLO}@1.0.0", "deprecated": False}], "_legacyList after the export")


@case("export hello with a Content-Length put body, then fetch it back byte for byte")
def export_content_length(ctx):
    s = ctx.daemon().scope()
    uploaded = export_hello(s, chunked=False)
    eq(sorted(o.type for o in uploaded.values()), ["Component", "Source", "Version"], "captured put")
    check_round_trip(s, uploaded)


@case("import hello: every entry a 40-hex zlib object, Component/Version/Source byte-identical, ScopeMeta, no .BIT.*")
def import_plain(ctx):
    s = ctx.daemon().scope()
    uploaded = export_hello(s)
    reply = check_round_trip(s, uploaded)
    # one more time on the same daemon: reads do not change what is stored
    eq(s.fetch_objects([HELLO]).by_ref(), reply.by_ref(), "a second fetch")


@case("import hello with x-client-version: .BIT.START first, .BIT.END last with numOfFiles")
def import_modern(ctx):
    s = ctx.daemon().scope()
    uploaded = export_hello(s)
    check_round_trip(s, uploaded, modern="1.0.0")
    check_round_trip(s, uploaded, modern="null")   # what @teambit/legacy 1.0.160 sends


@case("import of hello at its tag and with withoutDependencies:true")
def import_variants(ctx):
    s = ctx.daemon().scope()
    uploaded = export_hello(s)
    for ids, opts in [([f"{HELLO}@1.0.0"], None),
                      ([HELLO], {"type": "component", "withoutDependencies": True, "includeArtifacts": False}),
                      ([f"{HELLO}@latest"], None),
                      ([HELLO, HELLO], None)]:
        s.fetch_objects(ids, opts).expect_exactly(uploaded, f"fetch {ids} {opts or ''}")


@case("legacy160 export: a `myorg.myscope/<hash>` tar entry name is accepted, then import with markers")
def legacy160_scope_prefixed_names(ctx):
    s = ctx.daemon().scope()
    cap = "e2e-ref-legacy160"
    body = capture(cap, 2)
    check("x-client-version" in capture_request(cap, 2)["headers"], "the captured put is legacy160's")
    uploaded = objects_of_tar(body)
    headers = {"x-client-version": "null", "x-request-scope": "ws1"}
    eq(expect_json(s.put(body, client_id_of(cap, 2), headers=headers), 200, "put"), [], "put reply")
    eq(expect_json(s.action(None, raw=capture(cap, 3), headers=headers), 200, "ExportValidate (isResumingExport:true)"),
       {}, "ExportValidate reply")
    persisted = expect_json(s.action(None, raw=capture(cap, 4), headers=headers), 200, "ExportPersist")
    eq(persisted, json.loads(capture(cap, 4, "resp")), "ExportPersist ids (as the reference server answered)")
    s.fetch_objects(None, raw=capture(cap, 6), modern="null").expect_exactly(uploaded, "legacy160's import")


@case("put bodies in odd chunk sizes (1, 7, 511, 513 bytes) are read whole")
def odd_chunks(ctx):
    s = ctx.daemon().scope()
    body = capture("ref-283-ops", 2)    # 6 objects, 7168 bytes
    uploaded = objects_of_tar(body)
    for n, size in enumerate([1, 7, 511, 513]):
        client_id = f"17953053293{n:02d}"
        eq(expect_json(s.put(body, client_id, chunk_size=size), 200, f"put in chunks of {size}"), [], "put reply")
        eq(expect_json(s.action("ExportValidate", clientId=client_id, isResumingExport=False), 200,
                       "ExportValidate"), {}, f"ExportValidate after chunks of {size}")
        eq(expect_json(s.action("RemovePendingDir", clientId=client_id), 200, "RemovePendingDir"), {},
           "RemovePendingDir")
    eq(sorted(s.export(body, "1795305329355", chunked=True)), [f"{SCOPE}/app@1.0.0", f"{SCOPE}/util@1.0.0"],
       "the export itself")
    s.fetch_objects([f"{SCOPE}/app", f"{SCOPE}/util"]).expect_exactly(uploaded, "fetch of app and util")


@case("ExportValidate may run twice; ExportPersist without ExportValidate merges too")
def validate_twice_persist_alone(ctx):
    s = ctx.daemon().scope()
    body = capture(*HELLO_PUT)
    eq(s.put(body, "1").status, 200, "put 1")
    for _ in range(2):
        eq(expect_json(s.action("ExportValidate", clientId="1", isResumingExport=False), 200, "ExportValidate"), {},
           "ExportValidate reply")
    eq(expect_json(s.action("ExportPersist", clientId="1"), 200, "ExportPersist"), [f"{HELLO}@1.0.0"], "ids")
    s2 = ctx.daemon().scope()
    eq(s2.put(body, "2").status, 200, "put 2")
    eq(expect_json(s2.action("ExportPersist", clientId="2"), 200, "ExportPersist alone"), [f"{HELLO}@1.0.0"], "ids")
    s2.fetch_objects([HELLO]).expect_exactly(objects_of_tar(body), "fetch after ExportPersist alone")


@case("fetch by version hash (myorg.myscope/hello@<40-hex>) brings that version")
def fetch_by_hash(ctx):
    s = ctx.daemon().scope()
    uploaded = export_hello(s)
    ver = next(o for o in uploaded.values() if o.type == "Version")
    s.fetch_objects([f"{HELLO}@{ver.ref}"]).expect_exactly(uploaded, f"fetch {HELLO}@{ver.ref}")
    eq(s.fetch_objects([f"{HELLO}@{'0' * 40}"]).refs(), set(), "fetch of an unknown version hash")


@case("an export survives a restart of the daemon, and so does a pending one")
def restart(ctx):
    d = ctx.daemon()
    s = d.scope()
    export_hello(s)
    before = s.snapshot([HELLO])
    extra = capture("ref-283-ops", 2)
    eq(s.put(extra, "1795305329355").status, 200, "put left pending")
    d.stop()
    d.start()
    s = d.scope()
    s.expect_unchanged(before, "after the restart")
    eq(expect_json(s.action("ExportValidate", clientId="1795305329355", isResumingExport=False), 200,
                   "ExportValidate of the pending export after the restart"), {}, "ExportValidate reply")
    eq(sorted(expect_json(s.action("ExportPersist", clientId="1795305329355"), 200, "ExportPersist")),
       [f"{SCOPE}/app@1.0.0", f"{SCOPE}/util@1.0.0"], "ExportPersist after the restart")


@case("tar variants a client may send: padded to 10 KiB, duplicate entries, ustar prefix and PAX names")
def tar_variants(ctx):
    long_ustar = "myorg." + "a" * 70     # "<scope>/<hash>" is 117 characters: ustar prefix + name
    long_pax = "myorg." + "b" * 160      # the prefix would pass 155 characters: a PAX path record
    d = ctx.daemon(scopes=(SCOPE, long_ustar, long_pax))

    def scope_prefixed(objs, scope):     # as legacy160 names the Component: "<scope>/<hash>"
        return [(f"{scope}/{o.ref}" if o.type == "Component" else o.ref, o.compressed) for o in objs]

    padded = new_component("padded", b"module.exports = 'padded';\n")
    dup = new_component("dup", b"module.exports = 'dup';\n")
    ustar = new_component("hello", b"module.exports = 'ustar';\n", scope=long_ustar)
    pax = new_component("hello", b"module.exports = 'pax';\n", scope=long_pax)
    padded_tar = make_tar(padded)
    padded_tar += b"\0" * (-len(padded_tar) % 10240)
    ustar_tar = make_tar(scope_prefixed(ustar, long_ustar))
    eq(ustar_tar[345:500].rstrip(b"\0"), long_ustar.encode(), "the ustar prefix field of the first entry")
    pax_tar = make_tar(scope_prefixed(pax, long_pax), fmt=tarfile.PAX_FORMAT)
    check(b" path=" + long_pax.encode() in pax_tar, "the PAX tar has a path record")
    cases = [("tar padded to 10240 bytes", SCOPE, "padded", padded, padded_tar),
             ("tar with duplicate entries", SCOPE, "dup", dup, make_tar(dup + dup[::-1])),
             ("names in the ustar prefix field", long_ustar, "hello", ustar, ustar_tar),
             ("names in PAX path records", long_pax, "hello", pax, pax_tar)]
    for n, (what, scope, name, objs, body) in enumerate(cases):
        s = d.scope(scope)
        eq(s.export(body, f"179530496{n:04d}"), [f"{scope}/{name}@1.0.0"], f"{what}: ExportPersist")
        s.fetch_objects([f"{scope}/{name}"]).expect_exactly(objs, f"{what}: fetch")
