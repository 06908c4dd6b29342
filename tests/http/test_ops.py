"""An operator's day: fsck finding damage, gc beside running exports, a backup taken while
exports go on and restored into a new daemon, SIGTERM in the middle of an export, /metrics
read by promtool, /healthz when the disk goes away, and the daemon under systemd's protocols."""
import hashlib
import io
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path

from bitobj import make_tar, new_component, read_tar
from client import expect_json
from daemon import Daemon, _die_with_parent
from harness import REPO, SCOPE, SCOPED_BIN, Failure, capture, case, check, client_id_of, eq, short

HELLO_PUT = ("ref-283", 4)
HOUR = 3600
# the file store: these cases damage and age blob files (tests/unit/test_ops.c does the same to
# inline blobs, the rows of the index that small blobs are by default)
FILES_ONLY = "inline_blob_max = 0\n"


def run_scoped(d, *args, config=None, check_rc=None, timeout=120):
    """`scoped --data DIR ARGS`; check_rc: the exit status it must have, or None."""
    cmd = [str(SCOPED_BIN), *(["--config", str(config)] if config else []), "--data", str(d), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check_rc is not None and p.returncode != check_rc:
        raise Failure(f"scoped {' '.join(args)}: exit {p.returncode}, expected {check_rc}\n"
                      f"stdout: {short(p.stdout, 1500)}\nstderr: {short(p.stderr, 800)}")
    return p


def index_rows(d, sql, args=()):
    """A read of the daemon's index beside it (SQLite WAL lets another process read)."""
    db = sqlite3.connect(f"file:{d.data / 'index.db'}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def index_write(d, sql, args=()):
    """What a broken disk or a bug would do to the index, done by hand."""
    db = sqlite3.connect(str(d.data / "index.db"), timeout=30)
    try:
        db.execute(sql, args)
        db.commit()
    finally:
        db.close()


def blob_path(d, name):
    return d.data / "blobs" / name[:2] / name[2:]


def blob_files(d):
    return {p.parent.name + p.name: p for p in (d.data / "blobs").glob("??/*") if len(p.name) == 62}


def put_orphan(d, content, age=0):
    """A blob no index row names (the leftover of an upload that died), `age` seconds old."""
    name = hashlib.blake2b(content, digest_size=32).hexdigest()
    p = blob_path(d, name)
    p.write_bytes(content)
    if age:
        t = time.time() - age
        os.utime(p, (t, t))
    return name


def age_blobs(d, seconds):
    t = time.time() - seconds
    for p in blob_files(d).values():
        os.utime(p, (t, t))


def export_components(d, names, prefix, errors, content=None, exported=None):
    """Exports each component with a client of its own; errors collects what went wrong, and
    the event `exported` is set after the first export."""
    s = d.scope()
    for n in names:
        try:
            body = make_tar(new_component(f"{prefix}/c{n}", content or f"module.exports = '{prefix}{n}';\n".encode()))
            eq(s.export(body, f"{abs(hash(prefix)) % 10**9}{n:04d}"), [f"{SCOPE}/{prefix}/c{n}@1.0.0"],
               f"ExportPersist of {prefix}/c{n}")
        except BaseException as e:   # reported by the main thread
            errors.append(f"{prefix}/c{n}: {type(e).__name__}: {e}")
        if exported:
            exported.set()


def concurrently(*jobs):
    threads = [threading.Thread(target=fn, args=args) for fn, *args in jobs]
    for t in threads:
        t.start()
    return threads


def join(threads, timeout=180):
    for t in threads:
        t.join(timeout)
    check(not any(t.is_alive() for t in threads), f"a thread did not finish within {timeout} s")


def normalized_tar(body):
    """A fetch reply with each entry's mtime (the moment it was served) zeroed: every other
    byte, names, order, headers and contents, stays as served."""
    out = bytearray(body)
    pos = 0
    while pos + 512 <= len(out) and out[pos:pos + 512] != b"\0" * 512:
        out[pos + 136:pos + 148] = b"0" * 11 + b"\0"
        out[pos + 148:pos + 156] = b" " * 8
        size = int(bytes(out[pos + 124:pos + 136]).strip(b"\0 ") or b"0", 8)
        pos += 512 + size + (-size % 512)
    return bytes(out)


@case("fsck: a clean store passes beside the daemon (an orphan blob is no damage); a flipped byte "
      "in a blob, a missing blob and a tag naming no Version are found; --repair quarantines")
def fsck_finds_damage(ctx):
    d = ctx.daemon(config=FILES_ONLY)
    s = d.scope()
    eq(s.export(capture(*HELLO_PUT), client_id_of(*HELLO_PUT)), [f"{SCOPE}/hello@1.0.0"], "export")
    put_orphan(d, b"left over by an upload that died", age=2 * HOUR)
    p = run_scoped(d.data, "fsck", check_rc=0)
    check("no damage" in p.stdout, f"fsck of a clean store: {p.stdout}")
    n = index_rows(d, "SELECT count(*) FROM objects")[0][0]
    check(n >= 4 and re.search(rf"\b{n + 1} blobs, {n} objects", p.stdout),
          f"fsck counts ({n} objects, their blobs and an orphan): {p.stdout}")

    rows = dict(index_rows(d, "SELECT type, blob FROM objects WHERE type IN ('Source','Version')"))
    src_ref = index_rows(d, "SELECT ref FROM objects WHERE type = 'Source'")[0][0]
    ver_ref = index_rows(d, "SELECT ref FROM objects WHERE type = 'Version'")[0][0]
    src = blob_path(d, rows["Source"])
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0x01
    src.write_bytes(bytes(data))
    blob_path(d, rows["Version"]).unlink()
    index_write(d, "INSERT INTO tags(scope_id, component, tag, version) "
                   "SELECT id, 'hello', '9.9.9', ? FROM scopes WHERE name = ?", ("ab" * 20, SCOPE))

    p = run_scoped(d.data, "fsck", check_rc=1)
    out = p.stdout
    check(f"damage: blob {rows['Source']}: its content does not match its name" in out,
          f"the flipped byte: {out}")
    check(f"damage: object {SCOPE}/{ver_ref} (Version): its blob {rows['Version']} is missing" in out,
          f"the dangling Version row: {out}")
    check(f"damage: tag {SCOPE}/hello@9.9.9: no object {'ab' * 20} in the scope" in out,
          f"the dangling tag: {out}")
    check(f"damage: object {SCOPE}/{src_ref} (Source): its blob {rows['Source']} is damaged" in out,
          f"the Source row naming the damaged blob: {out}")
    eq(len(p.stderr.strip().splitlines()), 1, f"fsck's stderr is one line: {p.stderr!r}")
    check("problems found" in p.stderr, f"stderr: {p.stderr}")
    check(src.exists(), "fsck without --repair moved nothing")

    p = run_scoped(d.data, "fsck", "--repair", check_rc=1)
    q = d.data / "quarantine" / rows["Source"]
    check(q.exists() and not src.exists(), f"--repair moves the damaged blob to {q}: {p.stdout}")
    eq(q.read_bytes(), bytes(data), "the quarantined blob")
    check(f"object {SCOPE}/{src_ref} (Source): its blob {rows['Source']} is damaged (quarantined)" in p.stdout,
          f"--repair names the affected row: {p.stdout}")
    # the daemon is still there, and the damage answers as an error, not as wrong bytes
    eq(d.client().request("GET", "/healthz").status, 200, "healthz after fsck")


@case("gc: beside 6 running exports, deletes an old orphan blob and an expired pending export's "
      "blobs, keeps every referenced and every young blob")
def gc_beside_exports(ctx):
    d = ctx.daemon(config=FILES_ONLY)
    errors = []
    export_components(d, range(4), "before", errors)
    check(not errors, f"exports before gc: {errors}")
    s = d.scope()
    shared = b"module.exports = 'pending, then re-used';\n"
    pending = make_tar(new_component("pending/p", shared))
    eq(expect_json(s.put(pending, "1795300000001"), 200, "put left pending"), [], "put reply")
    pending_blobs = {b for (b,) in index_rows(d, "SELECT blob FROM pending_objects")}
    eq(len(pending_blobs), 3, "blobs of the pending export")
    # two hours pass: the pending export expires (pending_expiry 1h) and every blob is old
    index_write(d, "UPDATE pending SET updated_at = updated_at - 7200, created_at = created_at - 7200")
    age_blobs(d, 2 * HOUR)
    old_orphan = put_orphan(d, b"an old orphan", age=2 * HOUR)
    young_orphan = put_orphan(d, b"a young orphan: an upload in flight")

    gc_runs = []

    def gc_loop():
        for _ in range(5):
            gc_runs.append(run_scoped(d.data, "gc", check_rc=0).stdout)

    # exports run while gc does: new components, and one re-using the expiring export's Source
    threads = concurrently(*[(export_components, d, range(i * 3, i * 3 + 3), f"during{i}", errors)
                             for i in range(5)],
                           (export_components, d, range(2), "reuse", errors, shared),
                           (gc_loop,))
    join(threads)
    check(not errors, f"exports beside gc: {errors}")
    gc_runs.append(run_scoped(d.data, "gc", check_rc=0).stdout)
    check(any(re.search(r"[1-9]\d* pending exports expired", r) for r in gc_runs), f"gc output: {gc_runs}")
    blobs = blob_files(d)
    check(old_orphan not in blobs, "the old orphan blob is deleted")
    check(young_orphan in blobs, "a blob younger than gc_grace is kept")
    s.expect_no_pending("1795300000001")
    referenced = {b for (b,) in index_rows(d, "SELECT blob FROM objects UNION SELECT blob FROM pending_objects")}
    missing = referenced - set(blobs)
    check(not missing, f"gc deleted {len(missing)} referenced blobs: {sorted(missing)[:3]}")
    check(not ((pending_blobs - referenced) & set(blobs)),
          "the expired export's blobs nothing else names are deleted")
    ids = [f"{SCOPE}/before/c{n}" for n in range(4)] + [f"{SCOPE}/during{i}/c{n}" for i in range(5)
                                                        for n in range(i * 3, i * 3 + 3)]
    ids += [f"{SCOPE}/reuse/c{n}" for n in range(2)]
    for i in ids:
        eq(len(s.fetch_objects([i]).refs()), 3, f"objects of {i} after gc")
    run_scoped(d.data, "fsck", check_rc=0)
    deleted = sum(int(re.search(r"(\d+) deleted", r).group(1)) for r in gc_runs)
    ctx.note(f"{len(gc_runs)} gc runs deleted {deleted} blobs in all")


@case("backup taken during 6 concurrent exports restores into an empty directory; the restored "
      "daemon answers the same fetch replies byte for byte; tampering and non-empty targets are refused")
def backup_during_exports(ctx):
    d = ctx.daemon()
    errors = []
    export_components(d, range(3), "base", errors)
    check(not errors, f"exports before the backup: {errors}")
    s = d.scope()
    eq(s.put(make_tar(new_component("inflight/p", b"pending at backup time\n")), "1795300000077").status, 200,
       "a pending export")
    backup = Path(ctx.workdir) / f"backup-{os.getpid()}-{time.monotonic_ns()}.zst"
    result = {}

    exported = threading.Event()

    def take_backup():
        exported.wait(60)   # while the other exports go on
        result["p"] = run_scoped(d.data, "backup", str(backup))

    threads = concurrently(*[(export_components, d, range(i * 4, i * 4 + 4), f"conc{i}", errors, None,
                              exported if i == 0 else None) for i in range(6)], (take_backup,))
    join(threads)
    check(not errors, f"exports beside the backup: {errors}")
    eq(result["p"].returncode, 0, f"scoped backup: {result['p'].stderr}")
    check(re.search(r"index \(schema \d+\) and \d+ blobs", result["p"].stdout), f"backup output: {result['p'].stdout}")

    target = Path(tempfile.mkdtemp(prefix="restored-", dir=ctx.workdir)) / "data"
    p = run_scoped(target, "restore", str(backup), check_rc=0)
    check("every checksum verified" in p.stdout, f"restore output: {p.stdout}")
    run_scoped(target, "fsck", check_rc=0)
    r = Daemon(ctx.workdir, data=target, token=d.token)
    ctx.daemons.append(r)
    r.start()
    rs = r.scope()
    restored = sorted(e["id"] for e in rs.legacy_list())
    original = sorted(e["id"] for e in s.legacy_list())
    check(set(restored) <= set(original), f"the restore holds exports the original never had: {restored}")
    for n in range(3):
        check(f"{SCOPE}/base/c{n}@1.0.0" in restored, f"base/c{n} (exported before the backup) is restored")
    fetches = [([i.rsplit("@", 1)[0]], None, False) for i in restored]
    fetches += [([i.rsplit("@", 1)[0] for i in restored], None, "1.0.0")]
    for ids, opts, modern in fetches:
        a, b = s.fetch(ids, opts, modern), rs.fetch(ids, opts, modern)
        eq((a.status, b.status), (200, 200), f"fetch {short(ids, 80)} status")
        check(normalized_tar(a.body) == normalized_tar(b.body),
              f"fetch {short(ids, 80)}: the restored daemon's reply differs ({len(a.body)} vs {len(b.body)} bytes)")
        # a component is whole or absent: every entry of its reply is there
        eq(len(read_tar(b.body)) - (2 if modern else 0), 3 * len(ids) + 1, f"entries of fetch {short(ids, 80)}")
    # the pending export came along: its owner may still persist it on the restored daemon
    eq(expect_json(rs.action("ExportPersist", clientId="1795300000077"), 200, "ExportPersist after restore"),
       [f"{SCOPE}/inflight/p@1.0.0"], "the pending export, persisted after the restore")
    ctx.note(f"{len(restored)} of {len(original)} components in the backup; {result['p'].stdout.strip()}")

    # a restore never writes into a directory that holds anything
    busy = Path(tempfile.mkdtemp(prefix="busy-", dir=ctx.workdir))
    (busy / "notes.txt").write_text("mine\n")
    p = run_scoped(busy, "restore", str(backup), check_rc=1)
    check("not empty" in p.stderr, f"restore into a non-empty directory: {p.stderr}")
    eq(sorted(x.name for x in busy.iterdir()), ["notes.txt"], "the non-empty directory after the refusal")

    # one flipped byte inside index.db (zstd's own checksum recomputed): the manifest catches it
    raw = subprocess.run(["zstd", "-dc", str(backup)], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        member = t.getmember("index.db")
        names = t.getnames()
    eq((names[0], names[-2], names[-1]), ("scoped-backup", "index.db", "MANIFEST"), "archive layout")
    bad = bytearray(raw)
    bad[member.offset_data + member.size // 2] ^= 0x40
    tampered = backup.with_suffix(".tampered.zst")
    tampered.write_bytes(subprocess.run(["zstd", "-c", "-q"], input=bytes(bad), capture_output=True, check=True).stdout)
    empty = Path(tempfile.mkdtemp(prefix="empty-", dir=ctx.workdir))
    p = run_scoped(empty, "restore", str(tampered), check_rc=1)
    check("index.db does not match the manifest" in p.stderr, f"restore of a tampered backup: {p.stderr}")
    eq(list(empty.iterdir()), [], "the target directory after a refused restore")
    # a truncated file is refused too
    trunc = backup.with_suffix(".trunc.zst")
    trunc.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    p = run_scoped(empty, "restore", str(trunc), check_rc=1)
    eq(list(empty.iterdir()), [], "the target directory after a truncated backup")
    for f in (backup, tampered, trunc):
        f.unlink()


def big_export(n, tag):
    items = []
    for i in range(n):
        items += new_component(f"big{tag}/c{i:03d}", f"module.exports = {i}; // {tag}\n".encode() * 40)
    return make_tar(items)


def restart(d):
    d.proc = None
    return d.start()


def stop_and_wait(d, timeout=60):
    d.proc.send_signal(signal.SIGTERM)
    rc = d.proc.wait(timeout)
    eq(rc, 0, f"exit status after SIGTERM; log:\n{d.log_tail()}")


@case("SIGTERM during ExportPersist: the daemon finishes it, then exits 0; after a restart the "
      "scope has the whole export or none of it")
def sigterm_during_persist(ctx):
    d = ctx.daemon()
    s = d.scope()
    n = 300
    body = big_export(n, "p")
    cid = "1795300000300"
    eq(expect_json(s.put(body, cid), 200, "put"), [], "put reply")
    eq(expect_json(s.action("ExportValidate", clientId=cid, isResumingExport=False), 200, "validate"), {}, "validate")
    reply = {}

    def persist():
        try:
            reply["r"] = s.action("ExportPersist", clientId=cid)
        except Failure as e:   # the connection may be refused if SIGTERM came first
            reply["e"] = str(e)

    t = threading.Thread(target=persist)
    t.start()
    time.sleep(0.03)
    stop_and_wait(d)
    t.join(60)
    restart(d)
    listed = {e["id"] for e in d.scope().legacy_list()}
    want = {f"{SCOPE}/bigp/c{i:03d}@1.0.0" for i in range(n)}
    check(listed in (set(), want), f"after SIGTERM the scope holds {len(listed)} of {n} components")
    if "r" in reply and reply["r"].status == 200:
        eq(listed, want, "an ExportPersist answered 200 is all there")
    ctx.note(f"persist {'answered ' + str(reply['r'].status) if 'r' in reply else 'refused'}; "
             f"{len(listed)} of {n} components after the restart")
    run_scoped(d.data, "fsck", check_rc=0)


@case("SIGTERM during a slow put: the daemon waits for it (put answers 200, exit 0), and the "
      "export persists after a restart")
def sigterm_during_put(ctx):
    d = ctx.daemon()
    s = d.scope()
    body = big_export(40, "u")
    cid = "1795300000401"
    sent = threading.Event()

    def slow():
        for i in range(0, len(body), 16384):
            yield body[i:i + 16384]
            if i == 16384:
                sent.set()
                time.sleep(1.0)

    reply = {}
    t = threading.Thread(target=lambda: reply.setdefault("r", s.put(slow(), cid)))
    t.start()
    check(sent.wait(30), "the put started")
    time.sleep(0.2)
    t0 = time.monotonic()
    stop_and_wait(d)
    t.join(30)
    eq(expect_json(reply["r"], 200, "the put in flight at SIGTERM"), [], "put reply")
    check(time.monotonic() - t0 >= 0.5, "the daemon waited for the put")
    restart(d)
    ids = expect_json(d.scope().action("ExportPersist", clientId=cid), 200, "ExportPersist after the restart")
    eq(len(ids), 40, "ids persisted after the restart")


@case("SIGTERM during a put that outlasts shutdown_timeout: the daemon exits anyway, and the "
      "scope has none of it")
def sigterm_timeout(ctx):
    conf = Path(tempfile.mkdtemp(prefix="conf-", dir=ctx.workdir)) / "scoped.conf"
    conf.write_text("shutdown_timeout = 1s\n")
    d = Daemon(ctx.workdir, config=conf)
    ctx.daemons.append(d)
    d.start()
    s = d.scope()
    body = big_export(10, "t")
    cid = "1795300000501"
    sent = threading.Event()

    def stalled():
        yield body[:8192]
        sent.set()
        time.sleep(3)
        yield body[8192:]

    t = threading.Thread(target=lambda: _swallow(lambda: s.put(stalled(), cid)))
    t.start()
    check(sent.wait(30), "the put started")
    time.sleep(0.2)
    t0 = time.monotonic()
    stop_and_wait(d, timeout=10)
    took = time.monotonic() - t0
    check(0.9 <= took < 5, f"the daemon stopped {took:.1f} s after SIGTERM (shutdown_timeout 1s)")
    t.join(30)
    restart(d)
    s = d.scope()
    s.expect_no_pending(cid)
    eq(s.legacy_list(), [], "the scope after the cut upload")
    ctx.note(f"stopped after {took:.1f} s")


def _swallow(fn):
    try:
        fn()
    except Exception:
        pass


def metric_value(text, name, labels=None):
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"[^"]*")*\})? (\S+)$', line)
        check(m, f"/metrics line is not `name{{labels}} value`: {line!r}")
        if m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in (labels or {}).items()):
            return float(m.group(3))
    return None


@case("/metrics: promtool check metrics accepts it; requests by route and status, bytes, export "
      "and fetch histograms, stored objects and blobs, pending exports, connections")
def metrics(ctx):
    promtool = shutil.which("promtool")
    check(promtool, "promtool is not installed (Debian's prometheus package: run make deps)")
    d = ctx.daemon()
    s = d.scope()
    eq(s.export(capture(*HELLO_PUT), client_id_of(*HELLO_PUT)), [f"{SCOPE}/hello@1.0.0"], "export")
    s.fetch_objects([f"{SCOPE}/hello"])
    eq(s.put(make_tar(new_component("m/pending", b"x\n")), "1795300000901").status, 200, "a pending put")
    d.client().request("GET", "/no/such/route")
    resp = d.client().request("GET", "/metrics")
    eq(resp.status, 200, "GET /metrics")
    check((resp.header("content-type") or "").startswith("text/plain; version=0.0.4"),
          f"Content-Type {resp.header('content-type')}")
    text = resp.body.decode()
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, f"promtool check metrics: {p.stdout}{p.stderr}")
    put = {"method": "POST", "route": "/{scope}/api/scope/put", "status": "200"}
    eq(metric_value(text, "scoped_http_requests_total", put), 2.0, "puts answered 200")
    eq(metric_value(text, "scoped_http_requests_total", {"route": "unmatched", "status": "404"}), 1.0,
       "unmatched requests")
    eq(metric_value(text, "scoped_export_duration_seconds_count", {"step": "persist"}), 1.0, "persist histogram count")
    eq(metric_value(text, "scoped_export_duration_seconds_count", {"step": "upload"}), 2.0, "upload histogram count")
    eq(metric_value(text, "scoped_export_duration_seconds_bucket", {"step": "persist", "le": "+Inf"}), 1.0,
       "persist +Inf bucket")
    eq(metric_value(text, "scoped_fetch_duration_seconds_count"), 1.0, "fetch histogram count")
    check(metric_value(text, "scoped_http_received_bytes_total") >= len(capture(*HELLO_PUT)), "bytes received")
    check(metric_value(text, "scoped_http_sent_bytes_total") > 1000, "bytes sent")
    n = index_rows(d, "SELECT count(*) FROM objects")[0][0]
    check(n >= 4, "ScopeMeta, Component, Version, Source (and what persist adds) are stored")
    eq(metric_value(text, "scoped_objects_stored"), float(n), "objects stored")
    eq(metric_value(text, "scoped_blobs_stored"), float(n + 3), "blobs stored (the objects', the pending export's 3)")
    eq(metric_value(text, "scoped_pending_exports"), 1.0, "pending exports")
    eq(metric_value(text, "scoped_http_connections_active"), 1.0, "connections (this scrape's own)")
    eq(metric_value(text, "scoped_http_requests_in_flight"), 1.0, "requests in flight (this scrape)")


@case("/healthz answers 503 while the blob directory or the index file is gone, 200 once back")
def healthz_disk(ctx):
    d = ctx.daemon()
    c = d.client()
    eq(c.request("GET", "/healthz").status, 200, "healthz")
    for name in ("blobs", "index.db"):
        (d.data / name).rename(d.data / f"{name}.away")
        try:
            r = c.request("GET", "/healthz")
            eq(r.status, 503, f"healthz with {name} gone")
            eq(r.json(), {"status": "unavailable"}, "503 body")
        finally:
            (d.data / f"{name}.away").rename(d.data / name)
        eq(c.request("GET", "/healthz").status, 200, f"healthz with {name} back")


@case("under systemd: serves on the socket passed as fd 3, sends READY=1, WATCHDOG=1 and "
      "STOPPING=1 to NOTIFY_SOCKET, exits 0 on SIGTERM")
def systemd_protocols(ctx):
    d = Daemon(ctx.workdir)   # a data directory with a scope and a token
    tmp = Path(tempfile.mkdtemp(prefix="sd-", dir="/tmp"))   # a short path for the unix socket
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp / "notify"))
    notify.settimeout(10)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp / "notify"), WATCHDOG_USEC="200000", LISTEN_FDS="1")
    lfd = listener.fileno()

    def child_setup():
        _die_with_parent()
        os.dup2(lfd, 3)

    # sh sets LISTEN_PID to its own pid, which exec hands to scoped; --listen names a port
    # that must not be used
    proc = subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh", str(SCOPED_BIN), "--data", str(d.data),
                             "serve", "--listen", "127.0.0.1:1"],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(d.log_path, "ab"), preexec_fn=child_setup, close_fds=False)
    try:
        got = []
        while not any(m.startswith("READY=1") for m in got):
            got.append(notify.recv(4096).decode())
        listener.close()   # only scoped holds it now
        d.port = port
        eq(d.client().request("GET", "/healthz").status, 200, "healthz over the passed socket")
        eq(d.scope().legacy_list(), [], "a scope read over the passed socket")
        pings = 0
        deadline = time.monotonic() + 5
        while pings < 3 and time.monotonic() < deadline:
            if notify.recv(4096).decode() == "WATCHDOG=1":
                pings += 1
        eq(pings, 3, "WATCHDOG=1 pings at half of WATCHDOG_USEC")
        proc.send_signal(signal.SIGTERM)
        msgs = []
        while not any(m.startswith("STOPPING=1") for m in msgs):
            msgs.append(notify.recv(4096).decode())
        eq(proc.wait(15), 0, f"exit status; log:\n{d.log_tail()}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(d.dir, ignore_errors=True)


@case("systemd units: systemd-analyze verify passes and security rates scoped.service at most 2.0")
def systemd_units(ctx):
    analyze = shutil.which("systemd-analyze")
    check(analyze, "systemd-analyze is not installed (Debian's systemd package: run make deps)")
    tmp = Path(tempfile.mkdtemp(prefix="units-", dir=ctx.workdir))
    unit = (REPO / "systemd" / "scoped.service").read_text()
    check("ExecStart=/usr/local/bin/scoped " in unit, "ExecStart runs /usr/local/bin/scoped (make install rewrites it)")
    (tmp / "scoped.service").write_text(unit.replace("/usr/local/bin/scoped", str(SCOPED_BIN)))
    shutil.copy(REPO / "systemd" / "scoped.socket", tmp / "scoped.socket")
    p = subprocess.run([analyze, "verify", "scoped.service", "scoped.socket"], cwd=tmp,
                       capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, f"systemd-analyze verify: {p.stdout}{p.stderr}")
    check(not p.stdout.strip() and not p.stderr.strip(), f"systemd-analyze verify warns: {p.stdout}{p.stderr}")
    p = subprocess.run([analyze, "security", "--offline=yes", "--threshold=20", "./scoped.service"], cwd=tmp,
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for scoped\.service: (\d+\.\d+)", p.stdout)
    check(m, f"systemd-analyze security printed no exposure: {p.stdout[-500:]}{p.stderr}")
    check(float(m.group(1)) <= 2.0 and p.returncode == 0, f"exposure {m.group(1)} (at most 2.0 wanted)")
    ctx.note(f"exposure {m.group(1)}")
    shutil.rmtree(tmp, ignore_errors=True)


@case("a config with an unknown key or a bad value stops `scoped serve` naming the line")
def config_errors(ctx):
    tmp = Path(tempfile.mkdtemp(prefix="conf-", dir=ctx.workdir))
    for text, want in [("listen = 127.0.0.1:0\ngc_intervall = 1h\n", ":2: unknown key \"gc_intervall\""),
                       ("# ok\n\ngc_grace = soon\n", ":3: bad value \"soon\" for gc_grace")]:
        conf = tmp / "scoped.conf"
        conf.write_text(text)
        p = run_scoped(tmp / "data", "serve", config=conf, timeout=30)
        check(p.returncode != 0, f"serve with {text!r} started")
        check(f"{conf}{want}" in p.stderr, f"error for {text!r}: {p.stderr!r}")
        eq(len(p.stderr.strip().splitlines()), 1, "one line on stderr")
    check(not (tmp / "data").exists(), "a refused start creates no data directory")


@case("the daemon's upkeep: gc every gc_interval collects an old orphan blob; WAL checkpoints "
      "truncate the log while fetches keep reading")
def daemon_upkeep(ctx):
    conf = Path(tempfile.mkdtemp(prefix="conf-", dir=ctx.workdir)) / "scoped.conf"
    conf.write_text("gc_interval = 1s\ngc_grace = 1h\ncheckpoint_interval = 1s\n")
    d = Daemon(ctx.workdir, config=conf)
    ctx.daemons.append(d)
    d.start()
    errors = []
    export_components(d, range(5), "up", errors)
    check(not errors, f"exports: {errors}")
    orphan = put_orphan(d, b"an orphan the daemon collects", age=2 * HOUR)
    stop = threading.Event()

    def reader():   # steady reads: some read transaction is open most of the time
        s = d.scope()
        while not stop.is_set():
            s.fetch_objects([f"{SCOPE}/up/c{n}" for n in range(5)])

    threads = concurrently(*[(reader,) for _ in range(2)])
    try:
        wal = d.data / "index.db-wal"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (orphan in blob_files(d) or wal.stat().st_size > 0):
            time.sleep(0.2)
    finally:
        stop.set()
        join(threads, 60)
    check(orphan not in blob_files(d), "the daemon's periodic gc collected the orphan within 15 s")
    eq(wal.stat().st_size, 0, "the WAL after a truncating checkpoint")
    text = d.client().request("GET", "/metrics").body.decode()
    check(metric_value(text, "scoped_gc_runs_total", {"result": "ok"}) >= 1, "gc runs in /metrics")
    check(metric_value(text, "scoped_gc_deleted_blobs_total") >= 1, "gc deletions in /metrics")
    check(metric_value(text, "scoped_wal_checkpoints_total", {"result": "done"}) >= 1, "checkpoints in /metrics")
    run_scoped(d.data, "fsck", config=conf, check_rc=0)


@case("storage: small blobs are rows of the index and large ones files (inline_blob_max); a "
      "fetch returns both byte for byte; with inline_blob_max = 0 every blob is a file")
def inline_and_file_blobs(ctx):
    from bitobj import FetchReply, component, source, version
    big = source(os.urandom(200 * 1024))   # random bytes: compressed, still past 64 KiB
    small = source(b"module.exports = 'small';\n")
    ver = version({"big.bin": big, "index.js": small}, comp="mixed")
    objs = [component("mixed", {"1.0.0": ver.ref}), ver, big, small]
    for conf, files_only in ((None, False), (FILES_ONLY, True)):
        d = ctx.daemon(config=conf)
        s = d.scope()
        eq(s.export(make_tar(objs), "1795300000901"), [f"{SCOPE}/mixed@1.0.0"], "export")
        rows = dict(index_rows(d, "SELECT ref, blob FROM objects"))
        inline = {b for (b,) in index_rows(d, "SELECT name FROM blob_data")}
        files = set(blob_files(d))
        for o in objs:
            blob = rows[o.ref]
            if files_only or o is big:
                check(blob in files and blob not in inline, f"{o!r} is a file ({conf!r})")
            else:
                check(blob in inline and blob not in files, f"{o!r} is a row of the index")
        for modern in (False, True):
            r = s.fetch([f"{SCOPE}/mixed@1.0.0"], modern=modern)
            eq(r.status, 200, "fetch")
            got = FetchReply(r.body, SCOPE, modern=modern).objects
            for o in objs[1:]:
                check(o.ref in got and got[o.ref].compressed == o.compressed,
                      f"{o!r} fetched back byte for byte (modern={modern}, {conf!r})")
        p = run_scoped(d.data, "fsck", check_rc=0)
        check("no damage" in p.stdout, f"fsck: {p.stdout}")
