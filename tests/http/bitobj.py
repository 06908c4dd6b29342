"""Bit objects and the tars that carry them (protocol.md §6, §7), built and read in Python:
objects are zlib of `<Type> <hash> <len>\\0payload`, tars are ustar named by the hashes."""
import hashlib
import io
import json
import re
import tarfile
import zlib
from collections import Counter

from harness import SCOPE, Failure, check, eq, short

HEX40 = re.compile(r"^[0-9a-f]{40}$")
OLD_CLIENT_TYPES = {"Component", "Version", "Source", "ScopeMeta", "Symlink", "Lane"}
MODERN_TYPES = OLD_CLIENT_TYPES | {"VersionHistory", "LaneHistory", "ExportMetadata"}


def sha1(data):
    return hashlib.sha1(data).hexdigest()


def js_length(payload):
    """Bit's header size: the JS string length of the payload, in UTF-16 code units."""
    return len(payload.decode("utf-8", "replace").encode("utf-16-le")) // 2


def js_json(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Obj:
    """One Bit object: type, ref (hash), payload bytes, and its wire form (zlib)."""

    def __init__(self, type_, ref, payload, compressed=None):
        self.type, self.ref, self.payload = type_, ref, payload
        self.compressed = compressed if compressed is not None else zlib.compress(
            f"{type_} {ref} {js_length(payload)}".encode() + b"\0" + payload, 6)

    def json(self):
        return json.loads(self.payload)

    def __repr__(self):
        return f"<{self.type} {self.ref}>"


def decode_object(compressed, name="object"):
    try:
        raw = zlib.decompress(compressed)
    except zlib.error as e:
        raise Failure(f"{name}: not zlib: {e}")
    head, nul, payload = raw.partition(b"\0")
    m = re.match(rb"^([A-Za-z]+) ([0-9a-f]{40}) ([0-9]+)$", head) if nul else None
    check(m, f"{name}: header is not '<Type> <hash> <len>': {short(head[:80])}")
    return Obj(m.group(1).decode(), m.group(2).decode(), payload, compressed)


def source(content):
    return Obj("Source", sha1(content), content)


def component(name, versions, scope=SCOPE, date="1795304967163"):
    """A legacy Component as bitbin283 exports it; ref = sha1("scope/name")."""
    payload = js_json({"name": name, "scope": scope, "versions": versions, "lang": "javascript",
                       "deprecated": False, "bindingPrefix": "@bit",
                       "remotes": [{"url": "http://127.0.0.1:3000", "name": scope, "date": date}]})
    return Obj("Component", sha1(f"{scope}/{name}".encode()), payload)


def version(sources, message="first", deps=(), ref=None, main="index.js", comp="hello"):
    """A legacy Version of the files {relative path: Source}; deps: [(scope, name, version)].
    Its ref is not derived from the content by the server, so any 40-hex will do."""
    files = [{"file": s.ref, "relativePath": f"components/{comp}/{p}", "name": p.split("/")[-1],
              "test": False} for p, s in sources.items()]
    dep_ids = [{"scope": s, "name": n, "version": v} for s, n, v in deps]
    payload = js_json({
        "files": files, "mainFile": f"components/{comp}/{main}", "bindingPrefix": "@bit",
        "log": {"message": message, "date": "1795304957148"}, "ci": {}, "docs": [],
        "dependencies": [{"id": d, "relativePaths": []} for d in dep_ids], "devDependencies": [],
        "flattenedDependencies": dep_ids, "extensions": [], "packageDependencies": {},
        "devPackageDependencies": {}, "peerPackageDependencies": {}, "compilerPackageDependencies": {},
        "testerPackageDependencies": {}, "customResolvedPaths": [], "overrides": {},
        "packageJsonChangedProps": {}, "parents": []})
    return Obj("Version", ref or sha1(b"version:" + payload), payload)


def new_component(name, content, tag="1.0.0", scope=SCOPE):
    """A whole first export of one component: [Component, Version, Source]."""
    src = source(content)
    ver = version({"index.js": src}, comp=name)
    return [component(name, {tag: ver.ref}, scope), ver, src]



def tar_entry(name, data, type_=tarfile.REGTYPE, linkname="", mtime=1795304967, fmt=tarfile.USTAR_FORMAT):
    """One ustar entry (header + data + padding) as tar-stream writes it."""
    info = tarfile.TarInfo(name)
    info.size = len(data) if type_ == tarfile.REGTYPE else 0
    info.type, info.linkname, info.mode, info.mtime = type_, linkname, 0o644, mtime
    info.uname = info.gname = ""
    block = info.tobuf(format=fmt)
    payload = data if type_ == tarfile.REGTYPE else b""
    return block + payload + b"\0" * (-len(payload) % 512)


def make_tar(items, end=True, fmt=tarfile.USTAR_FORMAT):
    """items: Obj (named by its ref), or (name, bytes). end=False leaves out the two zero blocks.
    Names over 100 characters go to the ustar prefix field, or with fmt=PAX_FORMAT to a PAX
    extended header."""
    out = io.BytesIO()
    for it in items:
        if isinstance(it, Obj):
            out.write(tar_entry(it.ref, it.compressed, fmt=fmt))
        else:
            out.write(tar_entry(*it, fmt=fmt))
    if end:
        out.write(b"\0" * 1024)
    return out.getvalue()


def read_tar(data, what="tar"):
    """A strict reader: [(name, bytes)] of regular files; every header checksum valid, the
    archive ends with two zero blocks and holds nothing but zeros after them."""
    entries, pos = [], 0
    check(len(data) % 512 == 0, f"{what}: {len(data)} bytes, not a multiple of 512")
    while True:
        check(pos + 512 <= len(data), f"{what}: ends without the two zero blocks")
        block = data[pos:pos + 512]
        if block == b"\0" * 512:
            check(data[pos + 512:pos + 1024] == b"\0" * 512, f"{what}: one zero block, then data")
            check(not data[pos + 1024:].strip(b"\0"), f"{what}: data after the end blocks")
            return entries
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as e:
            raise Failure(f"{what}: bad header at offset {pos}: {e}")
        check(info.type in (tarfile.REGTYPE, tarfile.AREGTYPE),
              f"{what}: entry {info.name!r} has type {info.type!r}, not a regular file")
        pos += 512
        check(pos + info.size <= len(data), f"{what}: entry {info.name!r} is truncated")
        entries.append((info.name, data[pos:pos + info.size]))
        pos += info.size + (-info.size % 512)


def objects_of_tar(data):
    """{ref: Obj} of a put body (entry names may carry a `scope/` prefix)."""
    objs = {}
    for name, blob in read_tar(data, "put tar"):
        o = decode_object(blob, name)
        objs[name.rsplit("/", 1)[-1]] = o
    return objs


def marker_json(data):
    try:
        return json.loads(data)
    except ValueError:
        raise Failure(f"marker content is not JSON: {short(data)}")


class FetchReply:
    """A fetch reply, checked as a Bit client reads it: entries named by 40-hex hashes that
    inflate to `<Type> <hash> <len>\\0payload` with that hash, derivable hashes right, JSON
    payloads parse; markers exactly when the client is modern."""

    def __init__(self, body, scope, modern=False):
        self.scope = scope
        entries = read_tar(body, "fetch reply")
        names = [n for n, _ in entries]
        if modern:
            check(len(entries) >= 2 and names[0] == ".BIT.START" and names[-1] == ".BIT.END",
                  f"modern fetch reply must start with .BIT.START and end with .BIT.END: {short(names)}")
            eq(marker_json(entries[0][1]), {"schema": "1.0.0", "scopeName": scope}, ".BIT.START")
            eq(marker_json(entries[-1][1]), {"numOfFiles": len(entries) - 2, "scopeName": scope}, ".BIT.END")
            entries = entries[1:-1]
        markers = [n for n, _ in entries if n.startswith(".BIT.")]
        check(not markers, f"fetch reply has marker entries {markers}"
              + ("" if modern else " (the request had no x-client-version)"))
        self.entries = entries
        self.objects = {}
        dups = sorted(n for n, k in Counter(names).items() if k > 1)
        check(not dups, f"fetch reply holds entries more than once: {dups[:5]}")
        for name, blob in entries:
            check(HEX40.match(name), f"fetch reply entry name {name!r} is not a 40-hex hash")
            o = decode_object(blob, name)
            eq(o.ref, name, f"hash in the header of entry {name}")
            check(o.type in (MODERN_TYPES if modern else OLD_CLIENT_TYPES),
                  f"entry {name}: type {o.type} is unknown to this client")
            check_object_hash(o)
            self.objects[name] = o

    def by_ref(self):
        return {r: o.compressed for r, o in self.objects.items()}

    def refs(self, without_scope_meta=True):
        return {r for r, o in self.objects.items() if not (without_scope_meta and o.type == "ScopeMeta")}

    def expect_exactly(self, want, what, rewritten=()):
        """Exactly the objects of want ({ref: Obj} or [Obj]) besides a ScopeMeta, which must be
        there; each byte for byte, compressed and inflated. Objects in `rewritten` (Components an
        export merged into the stored one) may be written anew: their payload must be the same."""
        want = want if isinstance(want, dict) else {o.ref: o for o in want}
        got = self.refs()
        missing = sorted(f"{o.type} {r}" for r, o in want.items() if r not in got)
        extra = sorted(f"{self.objects[r].type} {r}" for r in got - set(want))
        check(not missing and not extra, f"{what}: {len(missing)} objects missing {missing[:4]}, "
              f"{len(extra)} unexpected {extra[:4]}")
        for ref, o in want.items():
            eq(self.objects[ref].payload, o.payload, f"{what}: payload of {o.type} {ref}")
            if ref not in rewritten:
                eq(self.objects[ref].compressed, o.compressed, f"{what}: bytes of {o.type} {ref}")
        self.scope_meta()

    def scope_meta(self):
        metas = [o for o in self.objects.values() if o.type == "ScopeMeta"]
        check(metas, "fetch reply has no ScopeMeta object")
        eq(metas[0].ref, sha1(self.scope.encode()), "ScopeMeta hash (sha1 of the scope name)")
        eq(metas[0].json().get("name"), self.scope, "ScopeMeta name")
        return metas[0]


def check_object_hash(o):
    """The hash rules of protocol.md §6.2 where the server can verify them."""
    if o.type == "Source":
        eq(sha1(o.payload), o.ref, "Source hash = sha1(content)")
        return
    if o.type in ("Component", "Version", "ScopeMeta", "Lane", "Symlink", "VersionHistory"):
        try:
            doc = o.json()
        except ValueError:
            raise Failure(f"{o.type} {o.ref}: payload is not JSON")
        check(isinstance(doc, dict), f"{o.type} {o.ref}: payload is not a JSON object")
        if o.type == "Component":
            eq(o.ref, sha1(f"{doc.get('scope')}/{doc.get('name')}".encode()), "Component hash = sha1(scope/name)")
        elif o.type == "ScopeMeta":
            eq(o.ref, sha1(str(doc.get("name")).encode()), "ScopeMeta hash = sha1(name)")
