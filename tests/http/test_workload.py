"""The benchmark's workload: 1000 components (1981 versions, 6486 objects, 22 MB of tar) made by
tests/tools/mkscope.py, exported in one put and imported back as `bit import` asks for them."""
import time

from bitobj import FetchReply, objects_of_tar
from harness import SCOPE, case, check, eq

BATCH = 50
IMPORT_OPTIONS = {"type": "component", "withoutDependencies": False, "includeArtifacts": False}


def expect_closures(reply, manifest_entries, objects, what):
    """The reply holds exactly the closures of its ids (plus ScopeMeta), byte for byte."""
    want = {ref for c in manifest_entries for ref in c["closure"]}
    reply.expect_exactly({ref: objects[ref] for ref in want}, what)


@case("1000-component workload: export in one chunked put, import in one fetch and in batches of 50")
def workload(ctx):
    wl = ctx.workload.wait()
    manifest = wl.manifest()
    objects = objects_of_tar(wl.put_tar.read_bytes())
    eq(len(objects), manifest["objects"], "objects in put.tar")
    d = ctx.daemon()
    s = d.scope()

    t0 = time.monotonic()
    ids = s.export(wl.put_tar, "1795304967173")   # a Path: streamed, chunked
    t_export = time.monotonic() - t0
    want = sorted(f"{c['id']}@{tag}" for c in manifest["list"] for tag in c["versions"])
    eq(len(want), manifest["versions"], "versions in the manifest")
    eq(sorted(ids), want, "ExportPersist ids (one per exported version)")

    listed = s.legacy_list()
    eq(sorted(e["id"] for e in listed), sorted(f"{c['id']}@{c['latest']}" for c in manifest["list"]),
       "_legacyList: every component at its latest tag")
    check(not any(e["deprecated"] for e in listed), "_legacyList: a component is deprecated")

    comp_ids = [c["id"] for c in manifest["list"]]
    t0 = time.monotonic()
    resp = s.fetch(comp_ids, IMPORT_OPTIONS)
    t_import = time.monotonic() - t0
    eq(resp.status, 200, "fetch of all ids")
    reply = FetchReply(resp.body, SCOPE)
    expect_closures(reply, manifest["list"], objects, "fetch of all ids")
    eq(reply.refs(), set(objects), "every object of put.tar came back")

    batches = d.scope(keepalive=True)
    seen = set()
    t0 = time.monotonic()
    for i in range(0, len(comp_ids), BATCH):
        part = manifest["list"][i:i + BATCH]
        resp = batches.fetch([c["id"] for c in part], IMPORT_OPTIONS)
        eq(resp.status, 200, f"fetch of batch {i // BATCH}")
        reply = FetchReply(resp.body, SCOPE)
        expect_closures(reply, part, objects, f"fetch of batch {i // BATCH}")
        seen |= reply.refs()
    t_batches = time.monotonic() - t0
    eq(batches.http.connects, 1, "connections opened for the batches (one keep-alive connection)")
    eq(seen, set(objects), "the batches together brought every object of put.tar")
    ctx.note(f"export {t_export:.2f} s, import {t_import:.2f} s in 1 fetch, "
             f"{t_batches:.2f} s in {len(comp_ids) // BATCH} fetches of {BATCH}")
