#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz harness from the captured traffic of the real Bit CLI
(tests/captures) and conf/scoped.conf.

usage: tests/fuzz/seeds.py OUTDIR     writes OUTDIR/<harness>/<name> files
"""
import hashlib
import io
import json
import sys
import tarfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO / "tests" / "captures"

# Documents the captures lack: fragments, directives, variables of every kind, mutations.
GRAPHQL_EXTRA = [
    'query ($ids: [String], $inc: Boolean = true) { scope(id: "s") { name ...F @include(if: $inc) '
    'components(namespaces: $ids, includeDeleted: false) { id { name version } } } } '
    'fragment F on Scope { _legacyList { id deprecated } __typename }\0{"ids":["a","b"],"inc":false}\0',
    'query A { scope { name } } mutation B { deprecate(bitIds: ["x/y"]) } subscription C { s }'
    '\0{}\0B',
    '{ a: scope { b: name c: name @skip(if: true) ... on Scope { name } } }',
    'query Q($o: In = {a: [1, 2.5e3, "s", """block""", null, ENUM, $v]}, $v: Int!) '
    '{ scope { components(include: $o) { aspects(include: ["x"]) { id config } } } }\0{"v": 3}\0Q',
]


# edges of the JSON grammar for fuzz_json
JSON_EXTRA = [
    b'{"a":[1,-0,0.5,-1.25e-3,1E+2,12345678901234567890,9223372036854775807,-9223372036854775808]}',
    b'{"s":"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/ \xc3\xa9 \xf0\x9f\x98\x80","e":{},"l":[],"t":true,"f":false,"n":null}',
    b'{"a":1,"a":2}', b'{"\\u0000":1}', b'["\\ud800"]', b'[1e400]', b'[1e-400]', b'[01]', b'[1.]', b'[.5]',
    b' [ 1 , 2 ] \n', b'[1,]', b'{"a":1,}', b'"top"', b'1', b'[tru]', b'[nul]', b'["\xc0\x80"]',
    b'["\xed\xa0\x80"]', b'[' * 2047 + b']' * 2047, b'[' * 2049 + b']' * 2049,
]


def main():
    out = Path(sys.argv[1])
    seen = set()

    def put(harness, data):
        digest = hashlib.sha1(data).hexdigest()
        if (harness, digest) in seen:
            return
        seen.add((harness, digest))
        d = out / harness
        d.mkdir(parents=True, exist_ok=True)
        (d / digest).write_bytes(data)

    for f in sorted(CAPTURES.glob("*/*.bin")):
        data = f.read_bytes()
        name = f.name
        if data[:1] == b"\0" and len(data) < 512:
            continue
        is_tar = ("put.req" in name or "fetch.resp" in name) and len(data) >= 1024
        if is_tar:
            if len(data) <= 256 * 1024:
                put("fuzz_tar", b"\0" + data)
                put("fuzz_tar", b"\x05" + data)
            try:
                with tarfile.open(fileobj=io.BytesIO(data)) as t:
                    for m in t.getmembers()[:200]:
                        blob = t.extractfile(m).read() if m.isfile() else b""
                        if not blob or m.name.startswith(".BIT."):
                            continue
                        put("fuzz_object", b"\0" + blob)
                        try:
                            raw = zlib.decompress(blob)
                            put("fuzz_object", b"\x01" + raw)
                            if raw[:8] in (b"Componen", b"Version ") and b"\0" in raw:
                                put("fuzz_json", raw[raw.index(b"\0") + 1:])
                        except zlib.error:
                            pass
            except tarfile.TarError:
                pass
        elif name.endswith(".req.bin") and ("fetch" in name or "action" in name or "delete" in name):
            put("fuzz_request", (b"\0" if "fetch" in name else b"\x02") + data)
            if "fetch" in name:
                put("fuzz_request", b"\x01" + data)
        elif "graphql.req" in name:
            try:
                doc = json.loads(data)
            except ValueError:
                continue
            q = (doc.get("query") or "").encode()
            v = json.dumps(doc.get("variables") or {}).encode()
            op = (doc.get("operationName") or "").encode()
            put("fuzz_graphql", q + b"\0" + v + b"\0" + op)
            put("fuzz_request", b"\x03" + data)
    for f in sorted(CAPTURES.glob("*/requests.jsonl")):
        for line in f.read_text().splitlines():
            try:
                po = json.loads(line)["headers"].get("push-options")
            except (ValueError, KeyError):
                continue
            if po:
                put("fuzz_request", b"\x04" + po.encode())
    put("fuzz_request", b"\x02" + json.dumps({"username": "ada", "password": "correct horse"}).encode())
    put("fuzz_request", b"\x02" + json.dumps({"ids": ["myorg.myscope/hello"], "force": False}).encode())
    for doc in GRAPHQL_EXTRA:
        put("fuzz_graphql", doc.encode())
    put("fuzz_config", (REPO / "conf" / "scoped.conf").read_bytes())
    put("fuzz_config", b"listen = 0.0.0.0:8080\nmax_put_body = 1G\nidle_timeout = 5m\n")
    for doc in JSON_EXTRA:
        put("fuzz_json", doc)
    for h in ("fuzz_tar", "fuzz_object", "fuzz_request", "fuzz_graphql", "fuzz_config", "fuzz_json"):
        print(f"seeds: {h}: {len(list((out / h).glob('*')))} files")


if __name__ == "__main__":
    main()
