"""No name a client sends reaches outside the data directory or into another scope: scope names in
the URL, tar entry names, clientIds, component names inside objects, and ids in fetches are tried
with `../`, absolute paths, `%2e%2e`, NUL bytes and over-long names. Each is refused (or finds
nothing), the daemon keeps serving, the other scope is unchanged, and no file appears anywhere
but in the data directory's index and blob store."""
import json
import os
import socket
import tarfile

from bitobj import Obj, component, make_tar, new_component, sha1, source, version
from client import expect_error
from harness import SCOPE, capture, case, check, client_id_of, eq

OTHER = "other.scope"
HELLO = f"{SCOPE}/hello"


def two_scopes(ctx):
    """SCOPE holds hello@1.0.0; OTHER holds secret@1.0.0. Returns the daemon, both clients and a
    snapshot of each, and a canary file next to the data directory."""
    d = ctx.daemon(scopes=(SCOPE, OTHER))
    s, o = d.scope(), d.scope(OTHER)
    eq(s.export(capture("ref-283", 4), client_id_of("ref-283", 4)), [f"{HELLO}@1.0.0"], "export of hello")
    eq(o.export(make_tar(new_component("secret", b"secret\n", scope=OTHER)), "9"), [f"{OTHER}/secret@1.0.0"],
       "export of secret to the other scope")
    (d.dir / "canary").write_text("untouched\n")
    return d, s, o, s.snapshot([HELLO]), o.snapshot([f"{OTHER}/secret"])


def files_of(d):
    """Every file under the daemon's directory, but for the index and the blob store's contents."""
    out = set()
    for root, _dirs, files in os.walk(d.dir):
        rel = os.path.relpath(root, d.dir)
        if rel == "data/blobs" or rel.startswith("data/blobs/"):
            continue
        for f in files:
            p = os.path.normpath(os.path.join(rel, f))
            if not p.startswith("data/index.db"):
                out.add(p)
    return out


def still_contained(d, s, o, before_s, before_o, files_before, what):
    eq(d.client().request("GET", "/healthz").status, 200, f"after {what}: /healthz")
    s.expect_unchanged(before_s, f"after {what}: {SCOPE}")
    o.expect_unchanged(before_o, f"after {what}: {OTHER}")
    eq((d.dir / "canary").read_text(), "untouched\n", f"after {what}: the canary next to the data directory")
    eq(files_of(d), files_before, f"after {what}: files outside the index and blob store")


def raw_status(port, path, token):
    """The status of a POST to a raw (unnormalised by any client library) request target."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sk:
        sk.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}".encode())
        data = b""
        while chunk := sk.recv(65536):
            data += chunk
    return int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.") else None, data


BAD_SCOPES = ["..", "../other.scope", "%2e%2e", "%2e%2e%2fother.scope", "..%2fother.scope", "other.scope%00",
              "other.scope%2f..", "%2fetc", "x" * 300, ".", "myorg.myscope%00x", "..%5c..%5cetc"]


@case("scope names in the URL: .., %2e%2e, %00, encoded slashes, 300 characters: reads 404, writes 403")
def url_scope_names(ctx):
    d, s, o, bs, bo = two_scopes(ctx)
    files = files_of(d)
    for name in BAD_SCOPES:
        for route, want in [("graphql", 404), ("api/scope/fetch", 404), ("api/scope/action", 403),
                            ("api/scope/put", 403)]:
            status, data = raw_status(d.port, f"/{name}/{route}", d.token)
            # a name with a slash in it is no scope route at all (404, no route)
            check(status in (want, 400, 404), f"POST /{name}/{route}: status {status}: {data[-300:]!r}")
            body = json.loads(data.partition(b"\r\n\r\n")[2])
            check(isinstance(body.get("error", {}).get("code"), int), f"/{name}/{route}: not Bit's shape")
    # the path itself may climb: /x/../other.scope/... is not other.scope's route
    status, _ = raw_status(d.port, f"/{SCOPE}/../{OTHER}/api/scope/fetch", d.token)
    check(status in (400, 404), f"/{SCOPE}/../{OTHER}/api/scope/fetch: status {status}")
    still_contained(d, s, o, bs, bo, files, "hostile scope names in URLs")


@case("scope create with ../x, /abs, a NUL or 300 characters fails and creates nothing")
def cli_scope_names(ctx):
    d = ctx.daemon()
    files = files_of(d)
    for name in ["../x", "/tmp/scoped-abs", "a/b", "x" * 300, "..", ".hidden", "a\tb"]:
        p = d.cli("scope", "create", name, check_rc=False)
        check(p.returncode != 0, f"scope create {name!r} succeeded")
    check(not os.path.exists("/tmp/scoped-abs"), "scope create /tmp/scoped-abs wrote outside")
    eq(d.cli("scope", "list").stdout.split(), [SCOPE], "scopes after the refused creates")
    eq(files_of(d), files, "files after the refused creates")


@case("tar entry names: /abs, ../, scope/../, another scope's prefix: refused, or stored only in this scope")
def entry_names(ctx):
    d, s, o, bs, bo = two_scopes(ctx)
    files = files_of(d)
    comp, ver, src = new_component("extra", b"extra\n")
    for i, name in enumerate([f"/{src.ref}", f"/etc/{src.ref}", f"../{src.ref}", f"{SCOPE}/../{src.ref}",
                              f"../../{OTHER}/{src.ref}", f"{src.ref}/..", f".{src.ref}",
                              "x" * 250 + src.ref[:5]]):
        tar = make_tar([comp, ver, (name, src.compressed)], fmt=tarfile.GNU_FORMAT)
        expect_error(s.put(tar, f"20{i}"), "4xx", None,
                     f"put with entry {name[:60]!r}")
        s.expect_no_pending(f"20{i}")
    still_contained(d, s, o, bs, bo, files, "hostile entry names")
    # an entry named with the other scope's prefix lands in this scope, never in the other
    eq(s.export(make_tar([comp, ver, (f"{OTHER}/{src.ref}", src.compressed)]), "30"), [f"{SCOPE}/extra@1.0.0"],
       "export with other.scope/<hash> entry names")
    o.expect_unchanged(bo, f"after an export to {SCOPE} with {OTHER}/ entry names")
    eq(o.fetch_objects([f"{OTHER}/extra"]).refs(), set(), f"{OTHER} does not have extra")


@case("component names and scopes inside objects (../x, /abs, another scope) do not reach another scope")
def names_in_objects(ctx):
    d, s, o, bs, bo = two_scopes(ctx)
    files = files_of(d)
    src = source(b"payload\n")
    for i, (scope, name) in enumerate([(SCOPE, "../secret"), (SCOPE, "/etc/passwd"), (SCOPE, "a/../../b"),
                                       (SCOPE, "x" * 300), (SCOPE, "a\u0000b"), ("../other.scope", "secret"),
                                       (OTHER, "secret")]):
        ver = version({"index.js": src}, comp="x")
        comp = component(name, {"1.0.0": ver.ref}, scope)
        cid = f"40{i}"
        resp = s.put(make_tar([comp, ver, src]), cid)
        if resp.status == 200:
            # the upload is well-formed tar; the merge must refuse a name or scope that is not this one's
            r = s.action("ExportValidate", clientId=cid, isResumingExport=False)
            check(r.status >= 400, f"ExportValidate of a Component {scope!r}/{name!r}: {r.status} {r.body[:200]!r}")
            s.action("RemovePendingDir", clientId=cid)
        else:
            expect_error(resp, "4xx", None, f"put of a Component {scope!r}/{name!r}")
    still_contained(d, s, o, bs, bo, files, "hostile names inside objects")


@case("clientIds: ../, /abs, %2e%2e, NUL, 200 characters: put 400; actions find nothing")
def client_ids(ctx):
    d, s, o, bs, bo = two_scopes(ctx)
    files = files_of(d)
    body = make_tar(new_component("extra", b"extra\n"))
    for cid in ["../../x", "/tmp/x", "%2e%2e", "..", "a\u0000b", "x" * 200, "a/b", "9/../9", "C:\\x"]:
        expect_error(s.put(body, cid), 400, 132, f"put with clientId {cid!r}")
        for action in ["ExportValidate", "ExportPersist", "RemovePendingDir"]:
            r = s.action(action, clientId=cid, isResumingExport=False)
            check(r.status in (400, 404), f"{action} with clientId {cid!r}: {r.status} {r.body[:200]!r}")
    # the other scope's pending export is not reachable through this scope, even by its clientId
    eq(s.put(body, "55").status, 200, "put to the other scope's neighbour")
    expect_error(o.action("ExportValidate", clientId="55", isResumingExport=False), 404, 132,
                 f"ExportValidate in {OTHER} of {SCOPE}'s clientId")
    s.action("RemovePendingDir", clientId="55")
    still_contained(d, s, o, bs, bo, files, "hostile clientIds")


@case("fetch ids naming another scope, ../, absolute paths or NULs find nothing of the other scope")
def fetch_ids(ctx):
    d, s, o, bs, bo = two_scopes(ctx)
    files = files_of(d)
    secret = set(o.fetch_objects([f"{OTHER}/secret"]).refs())
    for ids in [[f"{OTHER}/secret"], [f"{SCOPE}/../{OTHER}/secret"], ["../other.scope/secret"],
                [f"/{OTHER}/secret"], [f"{SCOPE}/secret"], [f"{SCOPE}/hello\u0000/../../secret"],
                [sorted(secret)[0]], ["x" * 700]]:
        for opts in [None, {"type": "object"}, {"type": "component-delta"}]:
            r = s.fetch(ids, opts)
            if r.status != 200:
                expect_error(r, "4xx", None, f"fetch {ids} {opts}")
                continue
            from bitobj import FetchReply
            got = FetchReply(r.body, SCOPE).refs()
            check(not (got & secret), f"fetch {ids} {opts} from {SCOPE} returned {OTHER}'s objects")
    still_contained(d, s, o, bs, bo, files, "hostile fetch ids")
