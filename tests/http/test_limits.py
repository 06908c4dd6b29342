"""Every limit of CONTRACT.md's Limits table holds: a daemon configured with small limits (so
that crossing them is quick) refuses the request that crosses one with a 4xx in Bit's error shape
(413 for sizes, 429 with Retry-After for rates, 431 for headers, 408 for headers too slow), keeps
serving, and the scope is what it was: the same list, the same objects byte for byte, and no
pending export left behind."""
import hashlib
import json
import socket
import tarfile
import threading
import time
import zlib

from bitobj import Obj, make_tar, new_component, sha1, source
from client import expect_error, expect_json
from harness import SCOPE, capture, case, check, client_id_of, eq

HELLO = f"{SCOPE}/hello"
EXTRA = f"{SCOPE}/extra"

SMALL = """
max_header_bytes = 4KiB
max_json_body = 64KiB
max_fetch_ids = 10
max_json_depth = 16
max_graphql_bytes = 2KiB
max_graphql_depth = 8
max_object_inflated = 64KiB
max_put_body = 256KiB
max_put_objects = 8
max_tar_header = 2KiB
max_pending_per_user = 2
"""


def small_scope(ctx, config=SMALL):
    """A daemon with small limits whose scope holds hello@1.0.0, and a snapshot of it."""
    d = ctx.daemon(config=config)
    s = d.scope()
    eq(s.export(capture("ref-283", 4), client_id_of("ref-283", 4)), [f"{HELLO}@1.0.0"], "export of hello")
    return d, s, s.snapshot([HELLO])


def healthy(d, what):
    r = d.client().request("GET", "/healthz")
    eq(r.status, 200, f"after {what}: /healthz")


def refused(d, s, before, resp, status, what, client_id=None):
    """The refusal of one request that crossed a limit, and everything still as it was."""
    err = expect_error(resp, status, 132, what)
    if status == 429:
        check((resp.header("retry-after") or "").isdigit(), f"{what}: 429 without a Retry-After in seconds")
    healthy(d, what)
    s.expect_unchanged(before, f"after {what}")
    eq(s.fetch_objects([EXTRA]).refs(), set(), f"after {what}: fetch of {EXTRA}")
    if client_id:
        s.expect_no_pending(client_id)
    return err


def extra():
    return new_component("extra", b"module.exports = () => 'extra';\n")


@case("JSON bodies past max_json_body (64 KiB here): 413, whether announced or chunked")
def json_body(ctx):
    d, s, before = small_scope(ctx)
    pad = "x" * (64 * 1024)
    big = json.dumps({"ids": [HELLO], "fetchOptions": {"type": "component"}, "pad": pad}).encode()
    refused(d, s, before, s.fetch(None, raw=big), 413, "a 64 KiB fetch body with Content-Length")
    chunks = (big[i:i + 8192] for i in range(0, len(big), 8192))
    refused(d, s, before, s.fetch(None, raw=chunks), 413, "a 64 KiB fetch body sent chunked")
    refused(d, s, before, s.action(None, raw=json.dumps({"name": "ExportValidate", "pad": pad}).encode()),
            413, "a 64 KiB action body")
    # just under the limit is still read
    ok = json.dumps({"ids": [HELLO], "fetchOptions": {"type": "component"}, "pad": "x" * 60000}).encode()
    eq(s.fetch(None, raw=ok).status, 200, "a 60 KiB fetch body")


@case("a fetch of more than max_fetch_ids ids (10 here): 413; 10 ids are fine")
def fetch_ids(ctx):
    d, s, before = small_scope(ctx)
    refused(d, s, before, s.fetch([HELLO] * 11), 413, "a fetch of 11 ids")
    s.fetch_objects([HELLO] * 10)


@case("JSON nested past max_json_depth (16 here), in bodies and in push-options: 400")
def json_depth(ctx):
    d, s, before = small_scope(ctx)
    deep = "[" * 17 + "]" * 17
    refused(d, s, before, s.fetch(None, raw=('{"ids":' + deep + '}').encode()), 400, "a fetch body 18 deep")
    refused(d, s, before, s.action(None, raw=('{"name":"ExportValidate","options":' + deep + '}').encode()),
            400, "an action body 18 deep")
    refused(d, s, before, s.put(make_tar(extra()), push_options='{"clientId":"17953","x":' + deep + '}'),
            400, "a put whose push-options nest 18 deep", client_id="17953")
    # a string full of brackets is not nesting
    eq(s.fetch([HELLO + "[" * 40]).status, 200, "a fetch of an id full of brackets")


@case("GraphQL documents past max_graphql_bytes (2 KiB): 413; past max_graphql_depth (8): 400")
def graphql_limits(ctx):
    d, s, before = small_scope(ctx)
    long_doc = "{ scope { name } }" + " " * 2048
    r = s.graphql(long_doc)
    refused(d, s, before, r, 413, "a 2 KiB GraphQL document")
    check(r.json().get("errors"), "the 413 of a GraphQL document carries errors[] too")
    nested = "{ scope { components { id { " + "name " + "} } } }"
    eq(s.graphql(nested).status, 200, "a document 4 deep")
    deep = "{ scope " + "{ components " * 8 + "{ name }" + " }" * 8 + " }"
    r = s.graphql(deep)
    refused(d, s, before, r, 400, "a GraphQL document 10 deep")
    check(r.json().get("errors"), "the 400 of a GraphQL document carries errors[] too")


@case("a put body past max_put_body (256 KiB): 413, announced or chunked; no pending export")
def put_body(ctx):
    d, s, before = small_scope(ctx)
    comps = []
    for i in range(40):   # 40 components of 8 KiB incompressible content: about 360 KiB
        noise = b"".join(hashlib.sha1(f"{i}.{j}".encode()).digest() for j in range(410))
        comps += new_component(f"big{i}", noise)
    body = make_tar(comps)
    check(len(body) > 256 * 1024, f"the put is {len(body)} bytes")
    refused(d, s, before, s.put(body, "1795301", chunked=False), 413, "a 360 KiB put with Content-Length",
            client_id="1795301")
    refused(d, s, before, s.put(body, "1795302", chunked=True), 413, "a 360 KiB put sent chunked",
            client_id="1795302")


@case("more than max_put_objects objects (8) in one put: 413; no pending export")
def put_objects(ctx):
    d, s, before = small_scope(ctx)
    objs = extra() + [source(f"file {i}\n".encode()) for i in range(6)]
    refused(d, s, before, s.put(make_tar(objs), "1795303"), 413, "a put of 9 objects", client_id="1795303")


@case("an object that inflates past max_object_inflated (64 KiB), a zlib bomb: 413")
def zlib_bomb(ctx):
    d, s, before = small_scope(ctx)
    content = b"\0" * (1 << 20)
    ref = sha1(content)
    bomb = zlib.compress(f"Source {ref} {len(content)}".encode() + b"\0" + content, 9)
    check(len(bomb) < 2048, f"the bomb is {len(bomb)} bytes on the wire")
    refused(d, s, before, s.put(make_tar(extra() + [(ref, bomb)]), "1795304"), 413,
            "a put with a 1 KiB object that inflates to 1 MiB", client_id="1795304")


@case("tar headers: a PAX header past max_tar_header (2 KiB) or a name past 255 bytes: 413")
def tar_headers(ctx):
    d, s, before = small_scope(ctx)
    comp, ver, src = extra()
    info = tarfile.TarInfo(src.ref)
    info.size = len(src.compressed)
    info.pax_headers = {"comment": "x" * 3000}
    pax = info.tobuf(format=tarfile.PAX_FORMAT) + src.compressed + b"\0" * (-len(src.compressed) % 512)
    body = make_tar([comp, ver], end=False) + pax + b"\0" * 1024
    refused(d, s, before, s.put(body, "1795305"), 413, "a put with a 3 KiB PAX header", client_id="1795305")
    long_name = make_tar([comp, ver, ("a/" * 150 + src.ref, src.compressed)], fmt=tarfile.GNU_FORMAT)
    refused(d, s, before, s.put(long_name, "1795306"), 413, "a put with a 340-byte entry name",
            client_id="1795306")


def raw_request(port, head, source_ip=None, timeout=10):
    """Sends head (bytes) on a new connection and reads until the server closes or answers;
    returns (status or None, body bytes)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source_ip, 0) if source_ip else None)
    try:
        sock.sendall(head)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                headers, _, body = data.partition(b"\r\n\r\n")
                for line in headers.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:") and len(body) >= int(line.split(b":")[1]):
                        return int(headers.split(b" ")[1]), body
    finally:
        sock.close()
    return (int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.") else None), data.partition(b"\r\n\r\n")[2]


@case("request headers past max_header_bytes (4 KiB): 431 in Bit's shape; far past: the HTTP layer's own")
def header_size(ctx):
    d, s, before = small_scope(ctx)
    resp = s.fetch([HELLO], headers={"X-Pad": "a" * 5000})
    refused(d, s, before, resp, 431, "a fetch with 5 KiB of headers")
    resp = d.client().request("GET", "/healthz", headers={f"X-Pad-{i}": "b" * 1000 for i in range(5)})
    refused(d, s, before, resp, 431, "a GET with five 1 KiB headers")
    eq(s.fetch([HELLO], headers={"X-Pad": "a" * 3000}).status, 200, "a fetch with 3 KiB of headers")
    # past MHD's memory pool the library answers itself (CONTRACT.md allows its own body), or hangs up
    head = (f"POST /{SCOPE}/api/scope/fetch HTTP/1.1\r\nHost: x\r\nX-Pad: " + "c" * 65536 + "\r\n\r\n").encode()
    try:
        status, _ = raw_request(d.port, head)
    except OSError:
        status = None
    check(status in (None, 413, 414, 431), f"64 KiB of headers: status {status}")
    healthy(d, "64 KiB of headers")
    s.expect_unchanged(before, "after 64 KiB of headers")


def open_idle(port, n, source_ip=None):
    """n keep-alive connections that have each been served once and now wait."""
    socks = []
    for _ in range(n):
        sk = socket.create_connection(("127.0.0.1", port), timeout=10,
                                      source_address=(source_ip, 0) if source_ip else None)
        sk.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while b'"ok"' not in got:
            chunk = sk.recv(4096)
            check(chunk, "an idle connection was closed before its first answer")
            got += chunk
        socks.append(sk)
    return socks


@case("connections past max_connections_per_ip (4 here): 429 with Retry-After; others unaffected")
def connections_per_ip(ctx):
    d, s, before = small_scope(ctx, SMALL + "max_connections_per_ip = 4\n")
    time.sleep(0.3)                  # the server sees the setup's connections closed
    held = open_idle(d.port, 3)      # with the fetch below's own: 4 from 127.0.0.1
    try:
        eq(s.fetch([HELLO]).status, 200, "the 4th connection from 127.0.0.1")
        time.sleep(0.3)
        held += open_idle(d.port, 1)
        resp = s.fetch([HELLO])
        expect_error(resp, 429, 132, "the 5th connection from 127.0.0.1")
        check((resp.header("retry-after") or "").isdigit(), "429 without Retry-After")
        eq(resp.header("connection"), "close", "the refused connection is closed")
        status, _ = raw_request(d.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", source_ip="127.0.0.2")
        eq(status, 200, "/healthz from another address meanwhile")
        # a flood past MHD's own cap is dropped without harm
        flood = []
        for _ in range(20):
            try:
                flood.append(socket.create_connection(("127.0.0.1", d.port), timeout=5))
            except OSError:
                break
        for sk in flood:
            sk.close()
    finally:
        for sk in held:
            sk.close()
    time.sleep(0.3)
    healthy(d, "connections past the per-address limit")
    s.expect_unchanged(before, "after connections past the per-address limit")


@case("connections past max_connections (6 here) from many addresses: 429 with Retry-After")
def connections_total(ctx):
    d, s, before = small_scope(ctx, SMALL + "max_connections = 6\n")
    held = []
    try:
        for i in range(6):
            held += open_idle(d.port, 1, source_ip=f"127.0.0.{i + 2}")
        status, body = raw_request(d.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", source_ip="127.0.0.20")
        eq(status, 429, f"the 7th connection (body {body[:200]!r})")
        err = json.loads(body)
        check(isinstance(err.get("message"), str) and err.get("error", {}).get("code") == 132,
              f"the 429 is in Bit's shape: {body[:200]!r}")
    finally:
        for sk in held:
            sk.close()
    time.sleep(0.3)
    healthy(d, "connections past the total limit")
    s.expect_unchanged(before, "after connections past the total limit")


@case("the default max_connections (1024) holds under systemd's soft limit of 1024 descriptors; the 1025th gets 429")
def connections_default(ctx):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))   # the test's own sockets
    from daemon import Daemon
    d = Daemon(ctx.workdir)
    ctx.daemons.append(d)
    d.rlimit_nofile = 1024
    d.start()
    held, statuses = [], {}
    try:
        for i in range(1030):     # 60 per address: under the per-address limit of 64
            src = f"127.0.1.{i // 60 + 1}"
            sk = socket.create_connection(("127.0.0.1", d.port), timeout=10, source_address=(src, 0))
            sk.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = sk.recv(4096)
            status = int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.") else None
            statuses[status] = statuses.get(status, 0) + 1
            (held if status == 200 else []).append(sk)
            if status != 200:
                sk.close()
        eq(statuses, {200: 1024, 429: 6}, "answers to 1030 connections held open")
    finally:
        for sk in held:
            sk.close()
    time.sleep(0.5)
    healthy(d, "1030 connections")


@case("slowloris: headers sent a byte at a time are cut off at header_timeout (2 s) with 408")
def slowloris(ctx):
    d, s, before = small_scope(ctx, SMALL + "header_timeout = 2s\nidle_timeout = 6s\n")
    sk = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    t0 = time.monotonic()
    closed_at, data = None, b""
    try:
        sk.sendall(f"POST /{SCOPE}/api/scope/fetch HTTP/1.1\r\nHost: x\r\n".encode())
        sk.settimeout(0.4)
        for b in b"X-Slow: " + b"a" * 200:
            try:
                sk.sendall(bytes([b]))
            except OSError:
                closed_at = time.monotonic()
                break
            try:
                chunk = sk.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                closed_at = time.monotonic()
                break
            data += chunk
            if not chunk:
                closed_at = time.monotonic()
                break
            if time.monotonic() - t0 > 10:
                break
    finally:
        sk.close()
    check(closed_at is not None, "a client sending a header byte every 0.4 s was not cut off within 10 s")
    took = closed_at - t0
    check(1.5 <= took <= 5, f"cut off after {took:.1f} s (header_timeout 2 s, idle 6 s)")
    ctx.note(f"cut off after {took:.1f} s, {'with a 408' if data else 'without an answer'}")
    if data:
        check(data.startswith(b"HTTP/1.1 408"), f"the answer to a slow client: {data[:100]!r}")
        err = json.loads(data.partition(b"\r\n\r\n")[2])
        eq(err.get("error", {}).get("code"), 132, "408 in Bit's shape")
    healthy(d, "a slowloris client")
    s.expect_unchanged(before, "after a slowloris client")


@case("a connection idle past idle_timeout (2 s) is closed, also mid-put; nothing pending remains")
def idle(ctx):
    d, s, before = small_scope(ctx, SMALL + "idle_timeout = 2s\n")
    sk = socket.create_connection(("127.0.0.1", d.port), timeout=8)
    t0 = time.monotonic()
    try:
        eq(sk.recv(100), b"", "an idle connection is closed")
    except ConnectionResetError:
        pass
    finally:
        sk.close()
    took = time.monotonic() - t0
    check(1.5 <= took <= 5, f"idle connection closed after {took:.1f} s (idle_timeout 2 s)")
    body = make_tar(extra())
    head = (f"POST /{SCOPE}/api/scope/put HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {d.token}\r\n"
            f"push-options: {json.dumps({'clientId': '1795307'})}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    sk = socket.create_connection(("127.0.0.1", d.port), timeout=8)
    t0 = time.monotonic()
    try:
        sk.sendall(head + body[:1000])
        try:
            eq(sk.recv(100), b"", "a put that stalls is closed")
        except ConnectionResetError:
            pass
    finally:
        sk.close()
    took = time.monotonic() - t0
    check(1.5 <= took <= 5, f"a stalled put closed after {took:.1f} s (idle_timeout 2 s)")
    time.sleep(0.2)
    healthy(d, "idle connections")
    s.expect_unchanged(before, "after idle connections")
    s.expect_no_pending("1795307")


@case("pending exports past max_pending_per_user (2): 429 with Retry-After, until one is persisted")
def pending_per_user(ctx):
    d, s, before = small_scope(ctx)
    for i, name in enumerate(["p1", "p2"]):
        eq(expect_json(s.put(make_tar(new_component(name, f"{name}\n".encode())), f"1795310{i}"), 200,
                       f"put {i + 1}"), [], f"put {i + 1}")
    third = make_tar(new_component("p3", b"p3\n"))
    resp = s.put(third, "17953102")
    refused(d, s, before, resp, 429, "a third pending export", client_id="17953102")
    # another user is not held back by this one
    other = d.admin_token("bob")
    eq(expect_json(d.scope(token=other).put(third, "17953103"), 200, "bob's put"), [], "bob's put")
    expect_json(s.action("RemovePendingDir", clientId="17953100"), 200, "RemovePendingDir of the first")
    eq(expect_json(s.put(third, "17953102"), 200, "the third put, after one was removed"), [], "put reply")


@case("a put never eats into disk_reserve: 413, nothing stored")
def disk_reserve(ctx):
    d = ctx.daemon(config=SMALL + "disk_reserve = 1000000GiB\n")
    s = d.scope()
    before = s.snapshot([HELLO])
    refused(d, s, before, s.put(make_tar(extra()), "1795308"), 413, "a put with the disk full",
            client_id="1795308")


@case("conf/scoped.conf names every limit of common/limit.h, with its default")
def conf_names_every_limit(ctx):
    from harness import REPO
    header = (REPO / "common" / "limit.h").read_text()
    conf = (REPO / "conf" / "scoped.conf").read_text()
    keys = {line.split("=")[0].strip() for line in conf.splitlines() if "=" in line and not line.startswith("#")}
    fields = [line.split()[1].rstrip(";") for line in header.splitlines() if line.strip().startswith("uint64_t")]
    check(len(fields) >= 18, f"limit.h fields: {fields}")
    missing = [f for f in fields if f not in keys and f.removesuffix("_s") not in keys]
    check(not missing, f"limits missing from conf/scoped.conf: {missing}")
    # the shipped file is what the daemon assumes without one
    d = ctx.daemon(config=conf.replace("/var/lib/scoped", "/nonexistent"))
    healthy(d, "a start with conf/scoped.conf")
