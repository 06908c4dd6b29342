"""The HTTP surface: health check, unknown routes, wrong methods, untidy paths."""
import json

from client import NAME_QUERY, expect_error, expect_json
from harness import SCOPE, capture, case, client_id_of, eq


@case("GET /healthz answers 200 {\"status\":\"ok\"}")
def healthz(ctx):
    d = ctx.daemon()
    eq(expect_json(d.client().request("GET", "/healthz"), 200, "healthz"), {"status": "ok"}, "healthz body")


@case("an unknown route answers 404 with Bit's error shape, code 132")
def unknown_route(ctx):
    http = ctx.daemon().client()
    for method, path in [("GET", "/nothing-here"), ("POST", f"/{SCOPE}/api/scope/nothing"),
                         ("POST", f"/{SCOPE}/api/scope"), ("GET", f"/{SCOPE}/graphql/extra")]:
        expect_error(http.request(method, path), 404, 132, f"{method} {path}")


@case("a wrong method answers 405 with Bit's error shape, code 132")
def wrong_method(ctx):
    http = ctx.daemon().client()
    for method, path in [("GET", f"/{SCOPE}/api/scope/fetch"), ("GET", f"/{SCOPE}/api/scope/put"),
                         ("DELETE", f"/{SCOPE}/api/scope/action"), ("POST", "/healthz")]:
        expect_error(http.request(method, path), 405, 132, f"{method} {path}")


@case("duplicate slashes in a path are tolerated (//myorg.myscope//graphql)")
def duplicate_slashes(ctx):
    d = ctx.daemon()
    body = json.dumps({"query": NAME_QUERY}).encode()
    for path in [f"//{SCOPE}//graphql", f"/{SCOPE}///graphql", f"//{SCOPE}/graphql"]:
        got = expect_json(d.client().request("POST", path, body, {"Content-Type": "application/json"}), 200, path)
        eq(got, {"data": {"scope": {"name": SCOPE}}}, f"POST {path}")
    fetch = json.dumps({"ids": [f"{SCOPE}/hello"], "fetchOptions": {"type": "component"}}).encode()
    resp = d.client().request("POST", f"/{SCOPE}//api//scope/fetch", fetch, {"Content-Type": "application/json"})
    eq(resp.status, 200, f"POST /{SCOPE}//api//scope/fetch status ({resp.body[:200]!r})")
    eq(expect_json(d.client().request("GET", "//healthz"), 200, "//healthz"), {"status": "ok"}, "GET //healthz")


@case("the x-verb header decides nothing: a put with x-verb read and a fetch with x-verb write work")
def x_verb_ignored(ctx):
    s = ctx.daemon().scope()
    body, client_id = capture("ref-283", 4), client_id_of("ref-283", 4)
    eq(expect_json(s.put(body, client_id, headers={"x-verb": "read"}), 200, "put with x-verb read"), [], "put reply")
    eq(expect_json(s.action("ExportValidate", headers={"x-verb": "read"}, clientId=client_id,
                            isResumingExport=False), 200, "ExportValidate with x-verb read"), {}, "ExportValidate")
    eq(expect_json(s.action("ExportPersist", clientId=client_id), 200, "ExportPersist"), [f"{SCOPE}/hello@1.0.0"],
       "ExportPersist")
    eq(s.fetch([f"{SCOPE}/hello"], headers={"x-verb": "write"}).status, 200, "fetch with x-verb write")
    eq(s.fetch([f"{SCOPE}/hello"], headers={"x-verb": "admin"}).status, 200, "fetch with x-verb admin")
