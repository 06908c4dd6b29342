"""Several workspaces exporting to one scope at the same moment."""
import threading

from bitobj import make_tar, new_component
from harness import SCOPE, Failure, case, check, eq

THREADS = 8


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
