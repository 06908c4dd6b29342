#!/usr/bin/env python3
"""bench_pages.py: how fast the web pages answer on a scope of 1000 components (a benchmark to
read, not a timed test). Generates the workload with mkscope.py, exports it to a fresh daemon
with put + ExportValidate + ExportPersist as the CLI does (tests/http/client.py), then GETs each
page N times over one keep-alive connection, as a browser would, and prints the figures.

usage: SCOPED_BIN=build/scoped python3 tests/tools/bench_pages.py [-n COMPONENTS] [-r ROUNDS]
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
from daemon import Daemon, Workload  # noqa: E402
from harness import SCOPE  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000, help="components (default 1000)")
    ap.add_argument("-r", "--rounds", type=int, default=50, help="requests per page (default 50)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="scoped-bench-pages-") as work:
        t0 = time.monotonic()
        wl = Workload(work, n=args.n).wait()
        manifest = wl.manifest()
        print(f"workload: {args.n} components, {manifest['versions']} versions, {manifest['objects']} objects "
              f"({time.monotonic() - t0:.1f} s to generate)")
        d = Daemon(work, public=True).start()
        try:
            t0 = time.monotonic()
            d.scope().export(wl.put_tar, "1795304967173")
            print(f"export: {time.monotonic() - t0:.1f} s")
            comps = manifest["list"]
            deep = max(comps, key=lambda c: len(c["versions"]))
            name = deep["id"].split("/", 1)[1]
            pages = [("/", "home"), (f"/{SCOPE}", "scope, all components"),
                     (f"/{SCOPE}?q=form", "scope, search"),
                     (f"/{SCOPE}/~/{name}", f"component ({len(deep['versions'])} versions)"),
                     (f"/{SCOPE}/~/{name}?v={sorted(deep['versions'])[0]}", "component, oldest version")]
            http = d.client(keepalive=True, token=None)
            http.token = None   # anonymous, as a visitor of a public scope
            print(f"{'page':34} {'bytes':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
            for path, what in pages:
                times, size = [], 0
                for _ in range(args.rounds):
                    t = time.perf_counter()
                    resp = http.request("GET", path, headers={"Accept": "text/html"})
                    times.append((time.perf_counter() - t) * 1000)
                    if resp.status != 200:
                        sys.exit(f"GET {path}: {resp.status} {resp.body[:200]!r}")
                    size = len(resp.body)
                times.sort()
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                print(f"{what:34} {size:8d} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}")
        finally:
            d.stop()


if __name__ == "__main__":
    main()
