#!/usr/bin/env python3
"""Exports a lane "dev" holding one snap of "lanecomp" to URL with TOKEN (objects built the way
tests/http/test_lanes.py builds them); prints the lane's ref and the snap's ref."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "http"))
from bitobj import make_tar  # noqa: E402
from client import Client, ScopeClient  # noqa: E402
from test_lanes import lane, lane_only_component, rand_ref, snap  # noqa: E402

url, token = sys.argv[1], sys.argv[2]
host, port_scope = url.split("//", 1)[1].split(":", 1)
port, scope = port_scope.split("/", 1)
s = ScopeClient(Client(host, int(port), token=token), scope)
v, src = snap("lanecomp", b"export const lane = true;\n")
ref = rand_ref()
ids = s.export(make_tar([lane_only_component("lanecomp"), v, src, lane(ref, "dev", {"lanecomp": v.ref})]),
               f"rawlane-{ref[:16]}")
assert ids == [f"{scope}/lanecomp@{v.ref}"], ids
print(ref, v.ref)
