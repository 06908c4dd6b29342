"""Malformed requests get the status and Bit error code of CONTRACT.md's Errors table, and leave
the scope as it was: the same list, the same objects fetched byte for byte, and no pending
export under the clientId used."""
import hashlib
import json
import socket
import tarfile
import time
import zlib

from bitobj import Obj, component, make_tar, new_component, sha1, source, tar_entry, version
from client import expect_error, expect_json
from harness import SCOPE, capture, case, check, client_id_of, eq

HELLO = f"{SCOPE}/hello"
EXTRA = f"{SCOPE}/extra"


def scope_with_hello(ctx):
    """A daemon whose scope holds hello@1.0.0, and what a client sees of it."""
    s = ctx.daemon().scope()
    eq(s.export(capture("ref-283", 4), client_id_of("ref-283", 4)), [f"{HELLO}@1.0.0"], "export of hello")
    return s, s.snapshot([HELLO])


def extra():
    """A valid first export of another component: the malformed puts carry it too, and it must
    not land anywhere when the put is refused."""
    return new_component("extra", b"module.exports = () => 'extra';\n")


def expect_refused_put(s, before, body, status=400, code=132, client_id="1795304967999", what="put", **kw):
    expect_error(s.put(body, client_id, **kw), status, code, what)
    s.expect_unchanged(before, f"after the refused {what}")
    s.expect_no_pending(client_id)
    eq(s.fetch_objects([EXTRA]).refs(), set(), f"after the refused {what}: fetch of {EXTRA}")


def with_checksum(tar, offset, delta):
    """The tar with the header checksum of the entry at offset off by delta."""
    t = bytearray(tar)
    value = int(t[offset + 148:offset + 154], 8) + delta
    t[offset + 148:offset + 156] = f"{value:06o}\0 ".encode()
    return bytes(t)


def bad_put_case(title, build, status=400, code=132):
    """One case per kind of malformed put body; build() gives (what, tar bytes) pairs."""
    @case(title)
    def run(ctx):
        s, before = scope_with_hello(ctx)
        for n, (what, body) in enumerate(build()):
            expect_refused_put(s, before, body, status, code, client_id=f"17953049{n:05d}", what=what)
    return run


def second_header():
    """Offset of the second header in make_tar(extra())."""
    return 512 + (len(extra()[0].compressed) + 511) // 512 * 512


def bad_checksum():
    good = make_tar(extra())
    return [("tar with a bad checksum in its first header", with_checksum(good, 0, 1)),
            ("tar with a bad checksum in its second header", with_checksum(good, second_header(), -3))]


def truncated():
    good = make_tar(extra())
    return [("tar cut in the middle of its first entry", good[:512 + 50]),
            ("tar cut in the middle of its second header", good[:second_header() + 100]),
            ("tar cut right after its first entry", good[:second_header()]),
            ("tar without the two end blocks", make_tar(extra(), end=False))]


def not_zlib():
    return [("entry that is not zlib", make_tar(extra() + [(sha1(b"x"), b"this is not zlib at all")])),
            ("entry that is raw deflate, not zlib",
             make_tar(extra() + [(sha1(b"abc"), zlib.compress(b"Source " + sha1(b"abc").encode() + b" 3\0abc")[2:-4])])),
            ("entry that is truncated zlib",
             make_tar(extra() + [(source(b"abc").ref, source(b"abc").compressed[:-6])]))]


def header_hash_differs():
    src = source(b"module.exports = 42;\n")
    liar = Obj("Source", sha1(b"something else"), src.payload)      # header names another hash
    return [("entry whose object header names another hash", make_tar(extra() + [(src.ref, liar.compressed)]))]


def source_hash_mismatch():
    wrong = Obj("Source", sha1(b"the content it claims"), b"the content it has")
    return [("Source whose sha1 does not match its ref", make_tar(extra() + [wrong]))]


def component_ref_mismatch():
    comp, ver, src = extra()
    other = Obj("Component", sha1(f"{SCOPE}/other".encode()), comp.payload)
    random_ref = Obj("Component", sha1(b"random"), comp.payload)
    return [("Component whose ref is sha1 of another scope/name", make_tar([other, ver, src])),
            ("Component whose ref is not sha1(scope/name)", make_tar([random_ref, ver, src]))]


def component_not_json():
    _, ver, src = extra()
    ref = sha1(f"{SCOPE}/extra".encode())
    return [("Component whose payload is not JSON", make_tar([Obj("Component", ref, b"{\"name\":\"extra\","), ver, src])),
            ("Component whose payload is a JSON array", make_tar([Obj("Component", ref, b"[]"), ver, src])),
            ("Version whose payload is not JSON", make_tar([extra()[0], Obj("Version", ver.ref, b"nope"), src]))]


def unknown_type():
    foo = Obj("Foo", sha1(b"foo"), b"abc")    # zlib of "Foo <hash> 3\0abc"
    return [("object of an unknown type (Foo)", make_tar(extra() + [foo])),
            ("object of an unknown type first", make_tar([foo] + extra()))]


def bad_names():
    src = source(b"module.exports = 'name';\n")
    return [("entry named ../../etc/passwd", make_tar(extra() + [("../../etc/passwd", src.compressed)])),
            ("entry named abc", make_tar(extra() + [("abc", src.compressed)])),
            ("entry named by 39 hex digits", make_tar(extra() + [(src.ref[:39], src.compressed)])),
            ("entry named by 41 hex digits", make_tar(extra() + [(src.ref + "0", src.compressed)])),
            ("entry named ../<hash>", make_tar(extra() + [("../" + src.ref, src.compressed)])),
            ("directory entry", extra_tar_plus(tar_entry(src.ref + "/", b"", tarfile.DIRTYPE))),
            ("directory entry without slash", extra_tar_plus(tar_entry(src.ref, b"", tarfile.DIRTYPE))),
            ("symlink entry", extra_tar_plus(tar_entry(src.ref, b"", tarfile.SYMTYPE, "/etc/passwd"))),
            ("hard link entry", extra_tar_plus(tar_entry(src.ref, b"", tarfile.LNKTYPE, extra()[2].ref)))]


def extra_tar_plus(raw_entry):
    return make_tar(extra(), end=False) + raw_entry + b"\0" * 1024


bad_put_case("put: a tar with a bad header checksum is refused (400, code 132)", bad_checksum)
bad_put_case("put: a truncated tar (mid-entry, mid-header, no end blocks) is refused (400, code 132)", truncated)
bad_put_case("put: an entry that is not zlib is refused (400, code 132)", not_zlib)
bad_put_case("put: zlib whose object header hash differs from the entry name is refused (400, code 132)",
             header_hash_differs)
bad_put_case("put: a Source whose sha1 does not match its ref is refused (400, code 132)", source_hash_mismatch)
bad_put_case("put: a Component whose ref is not sha1(\"scope/name\") is refused (400, code 132)",
             component_ref_mismatch)
bad_put_case("put: a Component or Version whose payload is not a JSON object is refused (400, code 132)",
             component_not_json)
bad_put_case("put: an unknown object type refuses the whole export (400, code 132)", unknown_type)
bad_put_case("put: entry names that are not hashes (../../etc/passwd, abc, dir, symlink) are refused "
             "(400, code 132)", bad_names)


@case("put: an object that inflates past the 256 MiB limit is refused (413, code 132)")
def inflate_limit(ctx):
    s, before = scope_with_hello(ctx)
    mib = b"\0" * (1 << 20)
    blocks = 257                           # 256 MiB is the default limit
    h = hashlib.sha1()
    for _ in range(blocks):
        h.update(mib)
    ref = h.hexdigest()                    # an honest Source, only too large
    z = zlib.compressobj(1)
    bomb = b"".join([z.compress(f"Source {ref} {blocks << 20}".encode() + b"\0")]
                    + [z.compress(mib) for _ in range(blocks)] + [z.flush()])
    check(len(bomb) < 2 << 20, f"the bomb is {len(bomb)} bytes on the wire")
    expect_refused_put(s, before, make_tar(extra() + [(ref, bomb)]), 413, 132, what="put of a zlib bomb")


@case("put: without push-options, with push-options not JSON or without clientId (400, code 132)")
def put_without_push_options(ctx):
    s, before = scope_with_hello(ctx)
    body = make_tar(extra())
    for what, opts in [("put without push-options", False), ("put with push-options not JSON", "{clientId:1"),
                       ("put with push-options without clientId", "{}"),
                       ("put with a clientId that is not a string", json.dumps({"clientId": ["1"]}))]:
        expect_error(s.put(body, push_options=opts), 400, 132, what)
        s.expect_unchanged(before, f"after the refused {what}")
        eq(s.fetch_objects([EXTRA]).refs(), set(), f"after the refused {what}: fetch of {EXTRA}")


@case("put: an invalid clientId (../x, a/b, .., empty) is refused (400, code 132)")
def put_invalid_client_id(ctx):
    s, before = scope_with_hello(ctx)
    body = make_tar(extra())
    for client_id in ["../x", "a/b", "..", "", "x\ny", "../../../../tmp/x"]:
        expect_error(s.put(body, client_id), 400, 132, f"put with clientId {client_id!r}")
        s.expect_unchanged(before, f"after the put with clientId {client_id!r}")


@case("fetch and action with bodies that are not JSON objects (400, code 132)")
def bad_json_bodies(ctx):
    s, before = scope_with_hello(ctx)
    for raw in [b'{"ids":[', b"not json", b"", b'{"ids":["a"]} trailing', b"[]", b'"ids"', b"\xff\xfe{}"]:
        expect_error(s.fetch(None, raw=raw), 400, 132, f"fetch with body {raw!r}")
        expect_error(s.action(None, raw=raw), 400, 132, f"action with body {raw!r}")
    s.expect_unchanged(before)


@case("fetch whose ids are not an array of strings, or with bad fetchOptions (400, code 132)")
def fetch_bad_ids(ctx):
    s, before = scope_with_hello(ctx)
    opts = {"type": "component", "withoutDependencies": False}
    for what, body in [("ids a string", {"ids": HELLO, "fetchOptions": opts}),
                       ("ids an object", {"ids": {"0": HELLO}, "fetchOptions": opts}),
                       ("ids holding a number", {"ids": [HELLO, 3], "fetchOptions": opts}),
                       ("ids holding null", {"ids": [None], "fetchOptions": opts}),
                       ("no ids", {"fetchOptions": opts}),
                       ("fetchOptions a string", {"ids": [HELLO], "fetchOptions": "component"}),
                       ("an unknown fetch type", {"ids": [HELLO], "fetchOptions": {"type": "bogus"}})]:
        expect_error(s.fetch(None, raw=json.dumps(body).encode()), 400, 132, f"fetch with {what}")
    s.expect_unchanged(before)


@case("action with an unknown name answers code 135 with that name; without a name 400 code 132")
def action_unknown(ctx):
    s, before = scope_with_hello(ctx)
    for name in ["NoSuchAction", "exportpersist", "ClearCache"]:
        err = expect_error(s.action(name, clientId="1"), "4xx", 135, f"action {name}")
        eq(err.get("name"), name, "error.name (ActionNotFound reads it)")
    expect_error(s.action(None, raw=b'{"options":{"clientId":"1"}}'), 400, 132, "action without a name")
    expect_error(s.action(None, raw=b'{"name":3,"options":{}}'), 400, 132, "action whose name is a number")
    s.expect_unchanged(before)


@case("ExportValidate/ExportPersist of an unknown clientId: 404 code 132")
def action_unknown_client_id(ctx):
    s, before = scope_with_hello(ctx)
    expect_error(s.action("ExportPersist", clientId="1111111111111"), 404, 132, "ExportPersist unknown clientId")
    expect_error(s.action("ExportValidate", clientId="1111111111111", isResumingExport=False), 404, 132,
                 "ExportValidate unknown clientId")
    s.expect_unchanged(before)


@case("a second put with a clientId already uploaded: 409 code 136, the first upload intact")
def put_client_id_in_use(ctx):
    s, before = scope_with_hello(ctx)
    first = make_tar(extra())
    eq(expect_json(s.put(first, "1795304960001"), 200, "first put"), [], "first put reply")
    other = new_component("other", b"module.exports = 'other';\n")
    err = expect_error(s.put(make_tar(other), "1795304960001"), 409, 136, "second put with the same clientId")
    eq(err.get("clientId"), "1795304960001", "error.clientId (ClientIdInUse reads it)")
    s.expect_unchanged(before, "after the second put")
    eq(expect_json(s.action("ExportValidate", clientId="1795304960001", isResumingExport=False), 200,
                   "ExportValidate of the first upload"), {}, "ExportValidate")
    eq(expect_json(s.action("ExportPersist", clientId="1795304960001"), 200, "ExportPersist"),
       [f"{EXTRA}@1.0.0"], "ExportPersist ids: the first upload's")
    eq(s.fetch_objects([f"{SCOPE}/other"]).refs(), set(), "fetch of the second put's component")


@case("a valid put whose ExportValidate fails (Version of a Source not uploaded) leaves nothing after RemovePendingDir")
def validate_fails_then_remove(ctx):
    s, before = scope_with_hello(ctx)
    missing = source(b"module.exports = 'never uploaded';\n")
    present = source(b"module.exports = 'uploaded';\n")
    ver = version({"index.js": missing, "lib.js": present}, comp="broken")
    comp = component("broken", {"1.0.0": ver.ref})
    client_id = "1795304961234"
    eq(expect_json(s.put(make_tar([comp, ver, present]), client_id), 200, "put"), [], "put reply")
    expect_error(s.action("ExportValidate", clientId=client_id, isResumingExport=False), None, None,
                 "ExportValidate of a Version whose Source is missing")
    expect_error(s.action("ExportPersist", clientId=client_id), None, None,
                 "ExportPersist of a Version whose Source is missing")
    s.expect_unchanged(before, "after the failed export")
    eq(expect_json(s.action("RemovePendingDir", clientId=client_id), 200, "RemovePendingDir"), {},
       "RemovePendingDir reply")
    s.expect_no_pending(client_id)
    expect_error(s.action("ExportPersist", clientId=client_id), 404, 132, "ExportPersist after RemovePendingDir")
    eq(s.fetch_objects([f"{SCOPE}/broken"]).refs(), set(), "fetch of the broken component")
    s.expect_unchanged(before, "after RemovePendingDir")
    # the same clientId can upload again (nothing of it is left)
    eq(s.export(make_tar(extra()), client_id), [f"{EXTRA}@1.0.0"], "a new export under that clientId")


@case("JSON bodies over the 8 MiB limit on fetch and action: 413 code 132")
def json_body_limit(ctx):
    s, before = scope_with_hello(ctx)
    pad = "x" * (8 * 1024 * 1024 + 1)
    fetch = json.dumps({"ids": [HELLO], "fetchOptions": {"type": "component"}, "pad": pad}).encode()
    expect_error(s.fetch(None, raw=fetch), 413, 132, "fetch of 8 MiB + 1")
    action = json.dumps({"name": "ExportValidate", "options": {"clientId": "1"}, "pad": pad}).encode()
    expect_error(s.action(None, raw=action), 413, 132, "action of 8 MiB + 1")
    s.expect_unchanged(before)


def send_and_hang_up(port, path, headers, data):
    """A client that sends the start of a request and then closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + data)
        time.sleep(0.2)


@case("a put the client abandons midway (Content-Length or chunked) leaves no pending export")
def put_abandoned(ctx):
    d = ctx.daemon()
    s = d.scope()
    eq(s.export(capture("ref-283", 4), "1"), [f"{HELLO}@1.0.0"], "export of hello")
    before = s.snapshot([HELLO])
    body = capture("ref-283-ops", 2)     # 7168 bytes, 6 objects
    for client_id, headers, data in [
            ("1795305329001", {"Content-Length": len(body)}, body[:3000]),
            ("1795305329002", {"Content-Length": len(body)}, body[:-1024]),   # every object, no end blocks
            ("1795305329003", {"Transfer-Encoding": "chunked"}, b"%x\r\n" % 5000 + body[:5000] + b"\r\n")]:
        headers["push-options"] = json.dumps({"clientId": client_id})
        send_and_hang_up(d.port, f"/{SCOPE}/api/scope/put", headers, data)
        deadline = time.monotonic() + 5
        while s.action("ExportValidate", clientId=client_id, isResumingExport=False).status != 404:
            check(time.monotonic() < deadline, f"clientId {client_id}: a pending export 5 s after the client left")
            time.sleep(0.05)
        s.expect_no_pending(client_id)
        expect_error(s.action("ExportPersist", clientId=client_id), 404, 132, f"ExportPersist of {client_id}")
        s.expect_unchanged(before, f"after the abandoned put {client_id}")
        # the client tries again with the same clientId, and then gives up
        eq(expect_json(s.put(body, client_id), 200, f"put again under clientId {client_id}"), [], "put reply")
        eq(expect_json(s.action("ExportValidate", clientId=client_id, isResumingExport=False), 200,
                       "ExportValidate"), {}, "ExportValidate")
        eq(expect_json(s.action("RemovePendingDir", clientId=client_id), 200, "RemovePendingDir"), {},
           "RemovePendingDir")
        s.expect_unchanged(before, f"after RemovePendingDir {client_id}")


@case("put: among 300 objects (checked on a helper thread as well), one bad object first, in the "
      "middle or last is refused (400, code 132), the error names the first bad one in tar order, "
      "and nothing lands")
def bad_object_among_many(ctx):
    s, before = scope_with_hello(ctx)
    good = [source(f"module.exports = {n}; // {'x' * (n % 50)}\n".encode()) for n in range(300)]

    def wrong(n):
        return Obj("Source", sha1(f"claimed {n}".encode()), f"actual {n}".encode())

    for n, bad_at in enumerate((0, 150, 299, (40, 260))):
        objs = list(good)
        firsts = bad_at if isinstance(bad_at, tuple) else (bad_at,)
        bads = {i: wrong(i) for i in firsts}
        for i, o in bads.items():
            objs[i] = o
        cid = f"17953051{n:05d}"
        err = expect_error(s.put(make_tar(extra() + objs), cid), 400, 132, f"bad object at {bad_at}")
        first = bads[min(firsts)]
        check(first.ref in err.get("message", ""), f"the error names the first bad object {first.ref}: {err}")
        s.expect_unchanged(before, f"after the refused put with a bad object at {bad_at}")
        s.expect_no_pending(cid)
    # and the same 300 good objects are taken whole
    eq(s.export(make_tar(extra() + good), "1795305199999"), [f"{EXTRA}@1.0.0"], "the good put")
