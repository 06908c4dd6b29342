"""HTTP as the Bit CLI speaks it to a remote scope (node-fetch 2: keep-alive, chunked puts), and
the checks of what comes back."""
import gzip
import json
import zlib
from http import client as httpclient
from pathlib import Path

from bitobj import FetchReply
from harness import Failure, check, eq, short

NODE_FETCH_HEADERS = {   # what node-fetch 2 (the Bit CLI) sends on every request
    "Accept": "*/*",
    "Accept-Encoding": "gzip,deflate",
    "User-Agent": "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
}


class Response:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise Failure(f"reply {self.status} is not JSON: {short(self.body)}")

    def __repr__(self):
        return f"{self.status} {short(self.body, 200)}"


class _CountingConnection(httpclient.HTTPConnection):
    connects = 0

    def connect(self):
        self.connects += 1
        super().connect()


class Client:
    """HTTP/1.1 to one daemon. With keepalive=True every request goes over one connection
    (re-opened only when the server closes it: `connects` counts the opens)."""

    def __init__(self, host, port, token=None, keepalive=False, timeout=120):
        self.host, self.port, self.token = host, port, token
        self.keepalive, self.timeout = keepalive, timeout
        self._conn = None

    @property
    def connects(self):
        return self._conn.connects if self._conn else 0

    def _connection(self):
        if self.keepalive:
            if self._conn is None:
                self._conn = _CountingConnection(self.host, self.port, timeout=self.timeout)
            return self._conn
        return httpclient.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method, path, body=None, headers=None, chunked=False, chunk_size=16384):
        """body: bytes, or an iterable of bytes (sent chunked). chunked=True sends bytes
        chunked too (in chunks of chunk_size), as node-fetch sends a put."""
        h = dict(NODE_FETCH_HEADERS)
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        if chunked and isinstance(body, (bytes, bytearray)):
            data = bytes(body)
            body = (data[i:i + chunk_size] for i in range(0, len(data), chunk_size))
        if body is not None and not isinstance(body, (bytes, bytearray)):
            chunked = True
            h["Transfer-Encoding"] = "chunked"
        conn = self._connection()
        try:
            try:
                conn.request(method, path, body=body, headers=h, encode_chunked=chunked)
                resp = conn.getresponse()
            except (BrokenPipeError, ConnectionResetError):
                if conn.sock is None:
                    raise
                resp = self._early_response(conn, method)
            raw = resp.read()
            headers_ = {k.lower(): v for k, v in resp.getheaders()}
        except (OSError, httpclient.HTTPException) as e:
            conn.close()
            raise Failure(f"{method} {path}: {type(e).__name__}: {e}")
        finally:
            if not self.keepalive:
                conn.close()
        enc = headers_.get("content-encoding", "")
        if enc == "gzip":
            raw = gzip.decompress(raw)
        elif enc == "deflate":
            raw = zlib.decompress(raw)
        return Response(resp.status, resp.reason, headers_, raw)

    @staticmethod
    def _early_response(conn, method):
        """The reply of a server that refused a request before reading all of its body (a put
        that is not allowed, say) and closed the connection while the body was still going."""
        resp = httpclient.HTTPResponse(conn.sock, method=method)
        resp.begin()
        return resp

    def close(self):
        if self._conn:
            self._conn.close()


def file_chunks(path, size=65536):
    with open(path, "rb") as f:
        while True:
            chunk = f.read(size)
            if not chunk:
                return
            yield chunk


def expect_status(resp, status, what):
    """status: a number, "4xx", or None for any error status (4xx or 5xx)."""
    if status is None:
        ok = 400 <= resp.status < 600
    elif status == "4xx":
        ok = 400 <= resp.status < 500
    else:
        ok = resp.status == status
    check(ok, f"{what}: expected status {status or 'of an error'}, got {resp.status} (body {short(resp.body, 400)})")


def expect_json(resp, status=200, what="reply"):
    expect_status(resp, status, what)
    ctype = resp.header("content-type") or ""
    check(ctype.split(";")[0].strip() == "application/json",
          f"{what}: Content-Type {ctype!r}, expected application/json")
    return resp.json()


def expect_error(resp, status, code, what="reply"):
    """Bit's error shape: {"message": "...", "error": {"code": N, ...}}; returns error.
    status as for expect_status; code None: any integer code."""
    body = expect_json(resp, status, what)
    check(isinstance(body, dict) and isinstance(body.get("message"), str),
          f"{what}: no top-level \"message\" string in {short(body)}")
    err = body.get("error")
    check(isinstance(err, dict), f"{what}: \"error\" is not an object in {short(body)}")
    if code is None:
        check(isinstance(err.get("code"), int), f"{what}: error.code is not a number in {short(body)}")
    else:
        eq(err.get("code"), code, f"{what}: error.code (body {short(body)})")
    return err


def expect_graphql_errors(resp, what="GraphQL reply"):
    body = expect_json(resp, 400, what)
    errors = body.get("errors") if isinstance(body, dict) else None
    check(isinstance(errors, list) and errors and all(isinstance(e, dict) and isinstance(e.get("message"), str)
                                                      for e in errors),
          f"{what}: expected {{\"errors\":[{{\"message\":...}}]}}, got {short(body)}")
    return errors


LIST_QUERY = ("\n      query listLegacy($namespaces: String) {\n        scope {\n          _legacyList("
              "namespaces: $namespaces) {\n            id\n            deprecated\n          }\n        }\n"
              "      }\n    ")   # bit list <remote>, byte for byte
NAME_QUERY = "\n      {\n        scope {\n          name\n        }\n      }\n    "   # bit remote add
OLD_FETCH_OPTIONS = {"type": "component", "withoutDependencies": False, "includeArtifacts": False}


class ScopeClient:
    """The requests of the Bit CLI to the remote scope http://HOST:PORT/<name>."""

    def __init__(self, client, name):
        self.http, self.name = client, name
        self.base = f"/{name}"

    def graphql(self, query, variables=None, raw=None):
        body = raw if raw is not None else json.dumps(
            {"query": query, **({"variables": variables} if variables is not None else {})}).encode()
        return self.http.request("POST", f"{self.base}/graphql", body,
                                 {"Content-Type": "application/json", "x-verb": "read"})

    def graphql_data(self, query, variables=None):
        body = expect_json(self.graphql(query, variables), 200, "GraphQL reply")
        check("errors" not in body, f"GraphQL errors: {short(body)}")
        return body["data"]

    def legacy_list(self):
        return self.graphql_data(LIST_QUERY, {})["scope"]["_legacyList"]

    def put(self, tar, client_id="1795304967173", chunked=True, push_options=None, headers=None,
            chunk_size=16384):
        """tar: bytes or a Path (streamed)."""
        h = {"x-verb": "write"}
        if push_options is None:
            push_options = json.dumps({"clientId": client_id})
        if push_options is not False:
            h["push-options"] = push_options
        h.update(headers or {})
        body = tar
        if isinstance(tar, Path):
            body = file_chunks(tar) if chunked else tar.read_bytes()
        return self.http.request("POST", f"{self.base}/api/scope/put", body, h, chunked, chunk_size)

    def action(self, name, raw=None, headers=None, **options):
        body = raw if raw is not None else json.dumps({"name": name, "options": options}).encode()
        h = {"Content-Type": "application/json", "x-verb": "write", **(headers or {})}
        return self.http.request("POST", f"{self.base}/api/scope/action", body, h)

    def fetch(self, ids, options=None, modern=False, raw=None, headers=None):
        body = raw if raw is not None else json.dumps(
            {"ids": ids, "fetchOptions": OLD_FETCH_OPTIONS if options is None else options}).encode()
        h = {"Content-Type": "application/json", "x-verb": "read"}
        if modern:
            h["x-client-version"] = modern if isinstance(modern, str) else "1.0.0"
        h.update(headers or {})
        return self.http.request("POST", f"{self.base}/api/scope/fetch", body, h)

    def fetch_objects(self, ids, options=None, modern=False, raw=None):
        """A fetch that must succeed; returns the checked reply (FetchReply)."""
        resp = self.fetch(ids, options, modern, raw)
        eq(resp.status, 200, f"fetch {short(ids, 100)} status (body {short(resp.body, 300)})")
        return FetchReply(resp.body, self.name, modern=bool(modern))

    def export(self, tar, client_id, chunked=True):
        """put, ExportValidate, ExportPersist as bitbin283 sends them; returns the persisted ids."""
        eq(expect_json(self.put(tar, client_id, chunked), 200, "put"), [], "put reply")
        eq(expect_json(self.action("ExportValidate", clientId=client_id, isResumingExport=False), 200,
                       "ExportValidate"), {}, "ExportValidate reply")
        ids = expect_json(self.action("ExportPersist", clientId=client_id), 200, "ExportPersist")
        check(isinstance(ids, list) and all(isinstance(i, str) for i in ids),
              f"ExportPersist must answer a JSON array of ids, got {short(ids)}")
        return ids

    def expect_no_pending(self, client_id):
        """A fresh ExportValidate on clientId: there is no pending export."""
        expect_error(self.action("ExportValidate", clientId=client_id, isResumingExport=False), 404, 132,
                     f"ExportValidate of clientId {client_id!r} (nothing pending)")

    def snapshot(self, ids):
        """What a client can see of the scope: the list, and the objects of fetching ids."""
        return {"list": self.legacy_list(),
                "fetch": {i: self.fetch_objects([i]).by_ref() for i in ids}}

    def expect_unchanged(self, before, what="scope"):
        after = self.snapshot(list(before["fetch"]))
        eq(after["list"], before["list"], f"{what}: _legacyList")
        for i, objs in before["fetch"].items():
            check(after["fetch"][i] == objs, f"{what}: fetch of {i} changed: "
                  f"{sorted(after['fetch'][i])} vs before {sorted(objs)}")
