#!/usr/bin/env python3
"""Load on loopback: N clients (64 by default), each on its own keep-alive connection as the Bit
CLI keeps one, mix exports of new components (put, ExportValidate, ExportPersist) with fetches
of components exported before, for a fixed time. Every fetch is checked byte for byte against
what was uploaded. Passes with zero errors, zero corruptions, and the daemon's memory (VmRSS,
sampled every half second) flat: the last third of the run peaks no higher than the middle third
by more than LOAD_RSS_SLACK_MB (default 24).

usage: tests/load/load.py [--clients N] [--seconds S]     (env LOAD_CLIENTS, LOAD_SECONDS)
"""
import argparse
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
from bitobj import FetchReply, make_tar, new_component  # noqa: E402
from client import ScopeClient  # noqa: E402
from daemon import Daemon, rmtree, scratch_root  # noqa: E402
from harness import SCOPE, SCOPED_BIN, Failure  # noqa: E402


def rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Load:
    def __init__(self, args):
        self.args = args
        self.workdir = tempfile.mkdtemp(prefix="scoped-load-", dir=scratch_root())
        self.daemon = Daemon(self.workdir)
        self.lock = threading.Lock()
        self.exported = []          # (id, {ref: Obj}) of acknowledged exports
        self.errors, self.corruptions = [], []
        self.latency = {"export": [], "fetch": []}
        self.deadline = 0
        self.rss = []               # (seconds since start, KiB)

    def client(self, c):
        rng = random.Random(c)
        s = ScopeClient(self.daemon.client(keepalive=True, timeout=60), SCOPE)
        n = 0
        while time.monotonic() < self.deadline:
            with self.lock:
                have = len(self.exported)
            t0 = time.monotonic()
            try:
                if have < 8 or rng.random() < self.args.export_share:
                    name = f"load/c{c}/n{n}"
                    n += 1
                    objs = new_component(name, rng.randbytes(rng.choice([64, 2000, 12000])).hex().encode())
                    cid = f"{c}{n:07d}"
                    ids = s.export(make_tar(objs), cid)
                    if ids != [f"{SCOPE}/{name}@1.0.0"]:
                        raise Failure(f"ExportPersist of {name} answered {ids}")
                    with self.lock:
                        self.exported.append((f"{SCOPE}/{name}", {o.ref: o for o in objs}))
                    kind = "export"
                else:
                    with self.lock:
                        picks = rng.sample(self.exported, min(have, rng.choice([1, 1, 5, 20])))
                    resp = s.fetch([i for i, _ in picks])
                    if resp.status != 200:
                        raise Failure(f"fetch: {resp.status} {resp.body[:200]!r}")
                    got = FetchReply(resp.body, SCOPE).objects
                    for i, objs in picks:
                        for ref, o in objs.items():
                            if ref not in got or got[ref].compressed != o.compressed:
                                with self.lock:
                                    self.corruptions.append(f"fetch of {i}: {o} missing or different")
                    kind = "fetch"
                with self.lock:
                    self.latency[kind].append(time.monotonic() - t0)
            except Failure as e:
                with self.lock:
                    self.errors.append(str(e))
        s.http.close()

    def run(self):
        a = self.args
        self.daemon.start()
        pid = self.daemon.proc.pid
        threads = [threading.Thread(target=self.client, args=(c,), daemon=True) for c in range(a.clients)]
        t_start = time.monotonic()
        self.deadline = t_start + a.seconds
        for t in threads:
            t.start()
        while time.monotonic() < self.deadline:
            self.rss.append((time.monotonic() - t_start, rss_kib(pid)))
            time.sleep(0.5)
        for t in threads:
            t.join(120)
        took = time.monotonic() - t_start
        alive = self.daemon.proc.poll() is None
        try:
            self.daemon.stop()
        except Failure as e:
            self.errors.append(str(e))
        finally:
            self.daemon._reap()
        return self.report(took, alive)

    def report(self, took, alive):
        a = self.args
        ex, fe = sorted(self.latency["export"]), sorted(self.latency["fetch"])

        def pct(xs, p):
            return f"{1000 * xs[min(len(xs) - 1, int(p * len(xs)))]:.0f} ms" if xs else "-"

        third = [k for _, k in self.rss]
        n = len(third)
        mid = max(third[n // 3:2 * n // 3] or [0])
        last = max(third[2 * n // 3:] or [0])
        first = third[0] if third else 0
        print(f"load: {a.clients} clients for {took:.1f} s: {len(ex)} exports ({len(ex) / took:.1f}/s, "
              f"p50 {pct(ex, .5)}, p99 {pct(ex, .99)}), {len(fe)} fetches ({len(fe) / took:.1f}/s, "
              f"p50 {pct(fe, .5)}, p99 {pct(fe, .99)})")
        trace = [f"{t:.0f}s {k // 1024}" for t, k in self.rss[::20]]
        print(f"load: VmRSS MiB every 10 s: {', '.join(trace)}")
        print(f"load: errors {len(self.errors)}, corruptions {len(self.corruptions)}; daemon VmRSS "
              f"{first // 1024} MiB at start, peak {mid // 1024} MiB in the middle third, "
              f"{last // 1024} MiB in the last third, {third[-1] // 1024 if third else 0} MiB at the end")
        failed = []
        if not alive:
            failed.append("the daemon died")
        if self.errors:
            failed.append(f"{len(self.errors)} errors, e.g. {self.errors[0]}")
        if self.corruptions:
            failed.append(f"{len(self.corruptions)} corruptions, e.g. {self.corruptions[0]}")
        if len(ex) == 0 or len(fe) == 0:
            failed.append("no exports or no fetches completed")
        if last > mid + a.rss_slack_mb * 1024:
            failed.append(f"memory grows: {mid // 1024} MiB -> {last // 1024} MiB")
        for f in failed:
            print(f"load: FAILED: {f}")
        print(f"load: {0 if failed else 1} passed, {1 if failed else 0} failed")
        if os.environ.get("KEEP") == "1":
            print(f"load: scratch directory kept: {self.workdir}")
        else:
            rmtree(self.workdir)
        return 1 if failed else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=int(os.environ.get("LOAD_CLIENTS", "64")))
    p.add_argument("--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", "60")))
    p.add_argument("--export-share", type=float, default=0.3, help="of requests that are exports")
    p.add_argument("--rss-slack-mb", type=int, default=int(os.environ.get("LOAD_RSS_SLACK_MB", "24")))
    args = p.parse_args()
    if not SCOPED_BIN.is_file():
        print(f"load: {SCOPED_BIN} does not exist")
        return 1
    return Load(args).run()


if __name__ == "__main__":
    sys.exit(main())
