#!/usr/bin/env python3
"""Exports NAME to URL with TOKEN as a modern client does, one export per tag: 1.0.0, then
1.0.1 whose parent is 1.0.0, and so on up to COUNT tags; each export carries the Component
(head, tags so far) and only the new Version and its Source. Prints the Versions' refs, oldest
first. (Objects built the way tests/http/test_lanes.py builds snaps: legacy160's CLI tags
legacy components, which have neither head nor parents.)"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "http"))
from bitobj import Obj, js_json, make_tar, sha1  # noqa: E402
from client import Client, ScopeClient  # noqa: E402
from test_lanes import snap  # noqa: E402

url, token, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host, port_scope = url.split("//", 1)[1].split(":", 1)
port, scope = port_scope.split("/", 1)
s = ScopeClient(Client(host, int(port), token=token), scope)
refs, tags = [], {}
for i in range(count):
    tag = f"1.0.{i}"
    v, src = snap(name, f"export const v = '{tag}';\n".encode(), refs[-1:])
    tags[tag] = v.ref
    comp = Obj("Component", sha1(f"{scope}/{name}".encode()),
               js_json({"name": name, "scope": scope, "versions": tags, "lang": "javascript",
                        "deprecated": False, "bindingPrefix": "@myorg", "remotes": [], "schema": "1.0.0",
                        "head": v.ref}))
    ids = s.export(make_tar([comp, v, src]), f"chain-{name}-{i}")
    assert ids == [f"{scope}/{name}@{tag}"], ids
    refs.append(v.ref)
print(" ".join(refs))
