"""The reply cache and the access cache (server/cache.c, server/access.c): a fetch or GraphQL
query asked again is answered from memory, byte for byte the same, and nothing a commit changes
(an export, a delete, a revoked token, whether revoked through the API or by `scoped token
revoke` in another process) is ever answered from before it. Each case checks through /metrics
that the cache really answered, so that it cannot pass with the cache off."""
import json

from bitobj import objects_of_tar, read_tar
from client import Client, ScopeClient, expect_error, expect_json
from harness import SCOPE, Failure, capture, case, check, client_id_of, eq

CAP = "ref-283-ops"
APP, UTIL = f"{SCOPE}/app", f"{SCOPE}/util"
LIST = '{ scope { _legacyList { id deprecated } } }'


def hits(d):
    """(hits, misses) of the reply cache, from /metrics."""
    body = d.client().request("GET", "/metrics").body.decode()
    got = {}
    for line in body.splitlines():
        if line.startswith("scoped_reply_cache_requests_total{"):
            got[line.split('"')[1]] = int(line.rsplit(" ", 1)[1])
    return got.get("hit", 0), got.get("miss", 0)


def export_round(s, put, validate, persist):
    eq(expect_json(s.put(capture(CAP, put), client_id_of(CAP, put)), 200, f"put {put:03d}"), [], "put")
    expect_json(s.action(None, raw=capture(CAP, validate)), 200, "ExportValidate")
    expect_json(s.action(None, raw=capture(CAP, persist)), 200, "ExportPersist")


def versions_of(reply_body, name):
    comps = [o.json() for o in objects_of_tar(reply_body).values() if o.type == "Component"]
    return sorted(next(c["versions"] for c in comps if c["name"] == name))


def fetch_twice(d, s, ids, modern=False):
    """A fetch asked again comes from the cache, byte for byte the reply kept: by its third asking
    at the latest, since a reply is kept from its second asking on (see kept_from_second)."""
    prev = s.fetch(ids, modern=modern)
    eq(prev.status, 200, f"fetch {ids}")
    for n in ("second", "third"):
        h0, _ = hits(d)
        again = s.fetch(ids, modern=modern)
        eq(again.status, 200, f"fetch {ids}, {n} time")
        if hits(d)[0] == h0 + 1:
            # the kept reply is the one built for the asking before (a tar's mtime is its build time)
            check(again.body == prev.body, "a cached reply is the same bytes as the one kept")
            return again
        prev = again
    raise Failure(f"the third fetch of {ids} was no cache hit")


def kept_from_second(d, s, ids):
    """A fetch body never asked before: the first asking leaves a trace only (most fetches of a
    large scope are asked once, and would churn the cache), the second is kept, the third hits."""
    for n, want_hit in (("first", 0), ("second", 0), ("third", 1)):
        h0, m0 = hits(d)
        eq(s.fetch(ids).status, 200, f"fetch {ids}, {n} time")
        eq(hits(d), (h0 + want_hit, m0 + 1 - want_hit), f"the {n} fetch of {ids}: hits and misses")


@case("reply cache: a fetch asked again comes from memory; after an export of new versions, a delete, it answers the new content")
def fetch_after_changes(ctx):
    d = ctx.daemon()
    s = d.scope()
    export_round(s, 2, 3, 4)
    kept_from_second(d, s, [APP])
    eq(versions_of(fetch_twice(d, s, [UTIL]).body, "util"), ["1.0.0"], "util before the second export")
    list_before = s.legacy_list()
    h0, _ = hits(d)
    eq(s.legacy_list(), list_before, "the listing asked again")
    eq(hits(d)[0], h0 + 1, "the second GraphQL query was a cache hit")
    export_round(s, 6, 7, 8)
    h0, m0 = hits(d)
    eq(versions_of(s.fetch([UTIL]).body, "util"), ["1.0.0", "1.0.1"], "util after the second export")
    eq(hits(d), (h0, m0 + 1), "the fetch after the export was a miss")
    fetch_twice(d, s, [UTIL])
    check(s.legacy_list() != list_before, "the listing after the second export shows the new versions")
    body = json.dumps({"ids": [APP], "force": True, "lanes": False}).encode()
    expect_json(s.http.request("POST", f"{s.base}/api/scope/delete", body,
                               {"Content-Type": "application/json", "x-verb": "write"}), 200, "delete app")
    after = s.fetch([APP])
    check(after.status != 200 or "app" not in [o.json().get("name") for o in objects_of_tar(after.body).values()
                                                if o.type == "Component" and not o.json().get("removed")],
          f"a fetch of the deleted app still answers it: {after.status}")


@case("reply cache: old and modern clients get their own replies for the same body; scopes never share one")
def per_client_and_scope(ctx):
    d = ctx.daemon(scopes=(SCOPE, "myorg.other"))
    s = d.scope()
    export_round(s, 2, 3, 4)
    old = fetch_twice(d, s, [UTIL])
    modern = fetch_twice(d, s, [UTIL], modern=True)
    def names(body):
        return [name for name, _ in read_tar(body)]
    check(".BIT.START" in names(modern.body) and ".BIT.START" not in names(old.body),
          "the modern reply carries .BIT.START and the old one does not")
    other = d.scope("myorg.other")
    for _ in range(2):
        r = other.fetch([UTIL])
        check(r.status != 200 or not objects_of_tar(r.body),
              f"another scope answered the objects of {SCOPE}: {r.status}")


@case("access cache: a token revoked through the API or by `scoped token revoke` is refused at once, though its replies are cached")
def revoked_tokens(ctx):
    d = ctx.daemon()
    d.cli("user", "add", "dev")
    d.cli("member", "add", SCOPE, "dev", "developer")
    export_round(d.scope(), 2, 3, 4)
    for how in ("cli", "api"):
        tok = d.cli("token", "create", "dev", "--name", how).stdout.strip()
        s = ScopeClient(Client("127.0.0.1", d.port, token=tok, keepalive=True), SCOPE)
        fetch_twice(d, s, [UTIL])
        tid = next(line.split("\t")[0] for line in d.cli("token", "list", "dev").stdout.splitlines()
                   if f"\t{how}\t" in line)
        if how == "cli":
            d.cli("token", "revoke", tid)
        else:
            expect_json(d.client().request("DELETE", f"/api/v1/tokens/{tid}"), 200, "revoke through the API")
        expect_error(s.fetch([UTIL]), 404, 129, f"a fetch with a token revoked by the {how}")
        expect_error(s.graphql('{ scope { name } }'), 404, 129, f"GraphQL with a token revoked by the {how}")


def gauge(d, name):
    for line in d.client().request("GET", "/metrics").body.decode().splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise AssertionError(f"no {name} in /metrics")


@case("reply cache: a reply nobody asks for within reply_cache_idle (1 s here) is dropped and its memory returned")
def idle_replies_go(ctx):
    import time
    d = ctx.daemon(config="reply_cache_idle = 1s\n")
    s = d.scope()
    export_round(s, 2, 3, 4)
    fetch_twice(d, s, [UTIL])
    check(gauge(d, "scoped_reply_cache_bytes") > 0, "the reply is kept")
    deadline = time.time() + 10
    while gauge(d, "scoped_reply_cache_entries") and time.time() < deadline:
        time.sleep(0.25)
    eq(gauge(d, "scoped_reply_cache_entries"), 0, "entries after the idle time")
    eq(gauge(d, "scoped_reply_cache_bytes"), 0, "bytes after the idle time")
    h0, m0 = hits(d)
    eq(s.fetch([UTIL]).status, 200, "fetch after the idle time")
    eq(hits(d), (h0, m0 + 1), "the fetch after the idle time was a miss")
