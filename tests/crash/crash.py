#!/usr/bin/env python3
"""Crash safety: clients export concurrently while the daemon is killed with SIGKILL at random
moments and restarted. After every restart:

  - the store is whole: `scoped fsck` passes when this scoped has it; and in any case every
    objects row's blob exists, has the name of its content and inflates to that ref and type,
    every component's ref and every tag point at stored Component and Version objects;
  - every export whose ExportPersist was answered is fetched back byte for byte;
  - no export is half visible: of an export cut short by the kill, either every component
    resolves with all of its objects, or none does; and what was seen once stays.

usage: tests/crash/crash.py [--kills N] [--clients N] [--seed N]
env:   CRASH_KILLS (default 10), SCOPED_BIN, KEEP=1 (keep the scratch directory)
Prints one line per kill and `crash: N kills, ... 0 failed`; exits non-zero on any failure.
"""
import argparse
import hashlib
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))
from bitobj import FetchReply, make_tar, new_component  # noqa: E402
from client import Client, ScopeClient  # noqa: E402
from daemon import Daemon, rmtree, scratch_root  # noqa: E402
from harness import SCOPE, SCOPED_BIN, Failure, check  # noqa: E402


class Export:
    """One export of 1-3 new components: its objects, and what the client knows of its fate."""

    def __init__(self, rng, worker, n):
        self.client_id = f"{worker}{n:06d}{rng.randrange(10**6)}"
        self.objects, self.ids = [], []
        for c in range(rng.randint(1, 3)):
            name = f"w{worker}/e{n}/c{c}"
            size = rng.choice([40, 900, 5000, 20000])
            content = rng.randbytes(size // 2).hex().encode()[:size]
            self.objects += new_component(name, content)
            self.ids.append(f"{SCOPE}/{name}")
        self.state = "new"   # new -> acked | uncertain -> seen | absent
        self.verified = 0


class Crash:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.workdir = tempfile.mkdtemp(prefix="scoped-crash-", dir=scratch_root())
        self.daemon = Daemon(self.workdir)
        self.exports = []
        self.lock = threading.Lock()
        self.up = threading.Event()       # workers run while set
        self.stop = False
        self.failures = []
        usage = subprocess.run([str(SCOPED_BIN), "--help"], capture_output=True, text=True)
        self.has_fsck = "fsck" in usage.stdout + usage.stderr
        self.blobs_ok = set()   # blobs are immutable: one full check each, then only existence

    # ---- the clients

    def scope(self):
        return ScopeClient(Client("127.0.0.1", self.daemon.port, token=self.daemon.token, timeout=20), SCOPE)

    def worker(self, w):
        rng = random.Random(self.args.seed * 1000 + w)
        n = 0
        cut_short = []   # clientIds of exports the kill interrupted: removed as Bit does on failure
        while not self.stop:
            self.up.wait()
            if self.stop:
                return
            try:
                s = self.scope()
                while cut_short:
                    r = s.action("RemovePendingDir", clientId=cut_short[-1])
                    if r.status not in (200, 404):
                        self.fail(f"RemovePendingDir of {cut_short[-1]}: {r.status} {r.body[:200]!r}")
                    cut_short.pop()
            except Failure:
                time.sleep(0.05)
                continue
            e = Export(rng, w, n)
            n += 1
            with self.lock:
                self.exports.append(e)
            try:
                steps = [lambda: s.put(make_tar(e.objects), e.client_id),
                         lambda: s.action("ExportValidate", clientId=e.client_id, isResumingExport=False),
                         lambda: s.action("ExportPersist", clientId=e.client_id)]
                for step in steps:
                    r = step()
                    if r.status != 200:
                        self.fail(f"export {e.client_id}: {r.status} {r.body[:200]!r}")
                        break
                else:
                    want = sorted(f"{i}@1.0.0" for i in e.ids)
                    if sorted(r.json()) != want:
                        self.fail(f"ExportPersist of {e.client_id} answered {r.body[:200]!r}")
                    with self.lock:
                        e.state = "acked"
                    continue
            except Failure:
                pass   # the connection broke: the daemon was killed
            with self.lock:
                e.state = "uncertain"
            cut_short.append(e.client_id)
            time.sleep(0.05)

    def fail(self, text):
        with self.lock:
            self.failures.append(text)

    # ---- the checks

    def check_store(self):
        if self.has_fsck:
            p = subprocess.run([str(SCOPED_BIN), "--data", str(self.daemon.data), "fsck"],
                               capture_output=True, text=True, timeout=300)
            check(p.returncode == 0, f"scoped fsck: exit {p.returncode}: {(p.stdout + p.stderr)[-500:]}")
        db = sqlite3.connect(f"file:{self.daemon.data / 'index.db'}?mode=ro", uri=True, timeout=30)
        try:
            objects = {}
            # small blobs are rows of the index (blob_data), larger ones files
            for scope_id, ref, type_, blob, inline in db.execute(
                    "SELECT o.scope_id, o.ref, o.type, o.blob, b.data FROM objects o"
                    " LEFT JOIN blob_data b ON b.name = o.blob"):
                objects[(scope_id, ref)] = type_
                path = self.daemon.data / "blobs" / blob[:2] / blob[2:]
                check(inline is not None or path.is_file(), f"object {ref}: blob {blob} is missing")
                if (blob, ref) in self.blobs_ok:
                    continue
                data = inline if inline is not None else path.read_bytes()
                eq_hash = hashlib.blake2b(data, digest_size=32).hexdigest()
                check(eq_hash == blob, f"object {ref}: blob {blob} holds content hashing to {eq_hash}")
                head = zlib.decompress(data).partition(b"\0")[0].split(b" ")
                check(head[0].decode() == type_ and head[1].decode() == ref,
                      f"object {ref} ({type_}): its blob inflates to {head[:2]}")
                self.blobs_ok.add((blob, ref))
            for scope_id, name, ref in db.execute("SELECT scope_id, name, ref FROM components"):
                check(objects.get((scope_id, ref)) == "Component", f"component {name}: Component {ref} not stored")
            for scope_id, comp, tag, ver in db.execute("SELECT scope_id, component, tag, version FROM tags"):
                check(objects.get((scope_id, ver)) == "Version", f"{comp}@{tag}: Version {ver} not stored")
            return len(objects)
        finally:
            db.close()

    def check_exports(self):
        """Every export whose fate is known to its client; of those verified whole twice already,
        a sample (they stay in the fetch of later rounds by chance)."""
        with self.lock:
            final = [(e, e.state) for e in self.exports if e.state != "new"]
        old = [p for p in final if p[0].verified >= 2]
        todo = [p for p in final if p[0].verified < 2] + self.rng.sample(old, min(len(old), 100))
        if not todo:
            return {}
        ids = [i for e, _ in todo for i in e.ids]
        s = self.scope()
        resp = s.fetch(ids, {"type": "component", "withoutDependencies": True, "includeArtifacts": False})
        check(resp.status == 200, f"fetch of {len(ids)} ids: {resp.status} {resp.body[:200]!r}")
        got = FetchReply(resp.body, SCOPE).objects
        counts = {}
        for e, state in todo:
            present = [o.ref in got for o in e.objects]
            whole = all(present) and all(got[o.ref].payload == o.payload for o in e.objects)
            if state in ("acked", "seen"):
                check(whole, f"export {e.client_id} ({e.state}): {present.count(False)} of {len(present)} "
                             "objects missing or different")
                for o in e.objects:
                    if o.type != "Component":
                        check(got[o.ref].compressed == o.compressed, f"export {e.client_id}: {o} not byte for byte")
                e.verified += 1
            elif state == "uncertain":
                comps = [o.ref in got for o in e.objects if o.type == "Component"]
                check(all(comps) == any(comps) and (whole or not any(comps)),
                      f"export {e.client_id} is half visible: components {comps}, objects {present}")
                e.state = "seen" if whole else "absent"
            elif state == "absent":
                comps = [o.ref in got for o in e.objects if o.type == "Component"]
                check(not any(comps), f"export {e.client_id}, absent after a crash, appeared later")
            counts[e.state] = counts.get(e.state, 0) + 1
        return counts

    # ---- the run

    def run(self):
        self.daemon.start()
        workers = [threading.Thread(target=self.worker, args=(w,), daemon=True) for w in range(self.args.clients)]
        self.up.set()
        for t in workers:
            t.start()
        t0 = time.monotonic()
        try:
            for k in range(1, self.args.kills + 1):
                time.sleep(self.rng.uniform(0.05, 0.8))
                self.daemon.proc.kill()
                self.up.clear()
                self.daemon.proc.wait()
                self.daemon._reap()
                time.sleep(0.3)   # let the workers notice, and finish their in-flight request
                self.daemon.start()
                nobj = self.check_store()
                counts = self.check_exports()
                with self.lock:
                    check(not self.failures, "; ".join(self.failures[:3]))
                print(f"crash: kill {k}: store whole ({nobj} objects); exports checked: "
                      + ", ".join(f"{v} {k_}" for k_, v in sorted(counts.items())), flush=True)
                self.up.set()
        except Failure as e:
            self.failures.append(str(e))
        finally:
            self.stop = True
            self.up.set()
            for t in workers:
                t.join(30)
            try:
                self.daemon.stop()
            except Failure as e:
                self.failures.append(str(e))
            finally:
                self.daemon._reap()
        took = time.monotonic() - t0
        done = {}
        for e in self.exports:
            done[e.state] = done.get(e.state, 0) + 1
        print(f"crash: {self.args.kills} kills in {took:.0f} s, {len(self.exports)} exports "
              f"({', '.join(f'{v} {k}' for k, v in sorted(done.items()))})"
              f"{'' if self.has_fsck else ' (no scoped fsck here: invariants checked from the index)'}")
        for f in self.failures:
            print(f"crash: FAILED: {f}")
        print(f"crash: {0 if self.failures else 1} passed, {1 if self.failures else 0} failed")
        if os.environ.get("KEEP") == "1":
            print(f"crash: scratch directory kept: {self.workdir}")
        else:
            rmtree(self.workdir)
        return 1 if self.failures else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kills", type=int, default=int(os.environ.get("CRASH_KILLS", "10")))
    p.add_argument("--clients", type=int, default=int(os.environ.get("CRASH_CLIENTS", "4")))
    p.add_argument("--seed", type=int, default=int(os.environ.get("CRASH_SEED", str(int(time.time()) % 100000))))
    args = p.parse_args()
    if not SCOPED_BIN.is_file():
        print(f"crash: {SCOPED_BIN} does not exist")
        return 1
    print(f"crash: {args.kills} kills, {args.clients} clients, seed {args.seed}")
    return Crash(args).run()


if __name__ == "__main__":
    sys.exit(main())
