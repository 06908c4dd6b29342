"""Several workspaces exporting to one scope at the same moment."""
import threading

from bitobj import make_tar, new_component
from client import expect_json
from harness import SCOPE, Failure, case, check, eq

THREADS = 20


@case(f"{THREADS} threads exporting {THREADS} different components at once all succeed, and all are listed")
def concurrent_exports(ctx):
    d = ctx.daemon()
    start = threading.Barrier(THREADS)
    results = [None] * THREADS

    def export(i):
        try:
            s = d.scope()   # a client, and so connections, of its own
            body = make_tar(new_component(f"conc/comp-{i}", f"module.exports = {i};\n".encode() * (i + 1)))
            start.wait(10)
            results[i] = s.export(body, f"17953049{i:05d}")
        except BaseException as e:   # reported below, by the main thread
            results[i] = e

    threads = [threading.Thread(target=export, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check(not any(t.is_alive() for t in threads), "an export did not finish within 120 s")
    for i, r in enumerate(results):
        if isinstance(r, BaseException):
            raise Failure(f"export of thread {i}: {type(r).__name__}: {r}")
        eq(r, [f"{SCOPE}/conc/comp-{i}@1.0.0"], f"ExportPersist of thread {i}")
    listed = sorted(e["id"] for e in d.scope().legacy_list())
    eq(listed, sorted(f"{SCOPE}/conc/comp-{i}@1.0.0" for i in range(THREADS)), "_legacyList")
    for i in range(THREADS):
        eq(len(d.scope().fetch_objects([f"{SCOPE}/conc/comp-{i}"]).refs()), 3, f"objects of comp-{i}")


@case(f"{THREADS} conflicting exports of one component at once: exactly one wins, the rest get 131")
def concurrent_conflicts(ctx):
    d = ctx.daemon()
    start = threading.Barrier(THREADS)
    outcome = [None] * THREADS
    uploads = [new_component("race/button", f"module.exports = 'variant {i}';\n".encode()) for i in range(THREADS)]

    def export(i):
        try:
            s = d.scope()
            cid = f"race-{i}"
            eq(expect_json(s.put(make_tar(uploads[i]), cid), 200, "put"), [], "put")
            start.wait(30)
            v = s.action("ExportValidate", clientId=cid, isResumingExport=False)
            if v.status != 200:
                outcome[i] = ("validate", v.status, v.json())
                s.action("RemovePendingDir", clientId=cid)
                return
            p = s.action("ExportPersist", clientId=cid)
            outcome[i] = ("persist", p.status, p.json())
        except BaseException as e:
            outcome[i] = e

    threads = [threading.Thread(target=export, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check(not any(t.is_alive() for t in threads), "an export did not finish within 120 s")
    winners = []
    for i, o in enumerate(outcome):
        if isinstance(o, BaseException):
            raise Failure(f"thread {i}: {type(o).__name__}: {o}")
        step, status, body = o
        if status == 200:
            eq(step, "persist", f"thread {i} step")
            eq(body, [f"{SCOPE}/race/button@1.0.0"], f"thread {i} ids")
            winners.append(i)
        else:
            eq(body.get("error", {}).get("code"), 131, f"thread {i} ({step}) error code, body {body}")
    eq(len(winners), 1, f"winners: {winners}")
    # the index agrees with the winner: its Version and Source are what every client gets
    w = uploads[winners[0]]
    reply = d.scope().fetch_objects([f"{SCOPE}/race/button"])
    for o in w:
        if o.type != "Component":
            check(o.ref in reply.objects, f"the winner's {o.type} {o.ref} is served")
    eq(len(reply.refs()), 3, "objects served for race/button")
    eq([e["id"] for e in d.scope().legacy_list()], [f"{SCOPE}/race/button@1.0.0"], "_legacyList")
