#!/usr/bin/env python3
"""HTTP integration tests of scoped: real requests, with the bodies the Bit CLI sends, against
daemons started here on free loopback ports with fresh data directories.

usage: tests/http/run.py [SUBSTRING...]    only the cases whose "module: title" contains a SUBSTRING
env:   SCOPED_BIN     the binary (default build/scoped of this repository)
       SCOPED_CAPTURES  the captured real-client traffic (default tests/captures)
       SCOPED_TEST_TMPDIR  where the scratch directory goes (default /dev/shm when it has room:
                      deleting the daemons' data directories is slow on some disks)
       KEEP=1         keep the scratch directory (daemon logs and data) and print its path

One line per case, then `http: N passed, N failed`; the exit status is 0 only if none failed.
"""
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True   # no __pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from daemon import Daemon, Workload, rmtree, scratch_root, stop_all_daemons  # noqa: E402
from harness import CASES, SCOPE, SCOPED_BIN, Failure  # noqa: E402

MODULES = ["test_routes", "test_graphql", "test_export", "test_incremental", "test_scopes",
           "test_malformed", "test_conflict", "test_concurrency", "test_workload", "test_auth",
           "test_lanes", "test_pages", "test_protocol", "test_ops", "test_limits", "test_paths", "test_cache"]


class Context:
    """What a case gets: daemons that are stopped after it (a crash or an unclean stop fails
    the case), a scratch directory, the shared workload, and a note for its result line."""

    def __init__(self, workdir, workload):
        self.workdir = workdir
        self.workload = workload
        self.daemons = []
        self.notes = []

    def daemon(self, scopes=(SCOPE,), public=False, config=None):
        d = Daemon(self.workdir, scopes, public, config)
        self.daemons.append(d)
        return d.start()

    def note(self, text):
        self.notes.append(text)

    def close(self, keep=False):
        errors = []
        for d in self.daemons:
            try:
                d.stop()
            except Failure as e:
                errors.append(str(e))
            if not keep:
                rmtree(d.dir)
        return errors


def interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    patterns = sys.argv[1:]
    if not SCOPED_BIN.is_file():
        print(f"http: {SCOPED_BIN} does not exist (run make, or set SCOPED_BIN)")
        print("http: 0 passed, 1 failed")
        return 1
    signal.signal(signal.SIGTERM, interrupted)
    for m in MODULES:
        __import__(m)
    cases = [c for c in CASES if not patterns or any(p in f"{c[0][5:]}: {c[1]}" for p in patterns)]

    workdir = tempfile.mkdtemp(prefix="scoped-http-", dir=scratch_root())
    workload = Workload(workdir)
    if any(c[0] == "test_workload" for c in cases):
        workload.start()   # about 10 s of CPU: it runs while the other cases do
    passed = failed = 0
    t_start = time.monotonic()
    try:
        for module, title, fn in cases:
            ctx = Context(workdir, workload)
            t0 = time.monotonic()
            error = None
            try:
                fn(ctx)
            except Failure as e:
                error = str(e)
            except KeyboardInterrupt:
                ctx.close()
                raise
            except Exception:
                error = traceback.format_exc().rstrip()
            if error and ctx.daemons:
                error += "\n--- daemon log (tail):\n" + ctx.daemons[-1].log_tail()
            stop_errors = ctx.close(keep=os.environ.get("KEEP") == "1")
            error = "\n".join(filter(None, [error, *stop_errors]))
            took = f"{time.monotonic() - t0:.2f} s"
            notes = f" [{'; '.join(ctx.notes)}]" if ctx.notes else ""
            if error:
                failed += 1
                print(f"FAIL {module[5:]}: {title} ({took}){notes}")
                print("\n".join("     " + line for line in error.splitlines()))
            else:
                passed += 1
                print(f"ok   {module[5:]}: {title} ({took}){notes}")
            sys.stdout.flush()
    except KeyboardInterrupt:
        print("http: interrupted")
        failed += 1
    finally:
        workload.stop()
        stop_all_daemons()
        if os.environ.get("KEEP") == "1":
            print(f"http: scratch directory kept: {workdir}")
        else:
            rmtree(workdir)
    print(f"http: total {time.monotonic() - t_start:.1f} s")
    print(f"http: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
