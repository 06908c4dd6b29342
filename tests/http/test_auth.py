"""Who may read and write (CONTRACT.md, Access and Errors): private scopes do not show that they
exist, writes need a token with a role, x-verb decides nothing, pending exports belong to their
uploader, logins are rate-limited, and no usable token is ever stored or logged."""
import hashlib
import json
import sqlite3
import subprocess

from client import NAME_QUERY, Client, ScopeClient, expect_error, expect_json
from harness import SCOPE, SCOPED_BIN, capture, case, check, client_id_of, eq

PUB = "myorg.public"
MISSING = "myorg.nothere"


def users(d):
    """dev (developer), view (viewer), out (no role) on SCOPE; their tokens by name."""
    toks = {}
    for name, role in (("dev", "developer"), ("view", "viewer"), ("out", None)):
        d.cli("user", "add", name)
        if role:
            d.cli("member", "add", SCOPE, name, role)
        toks[name] = d.cli("token", "create", name, "--name", "tests").stdout.strip()
    return toks


def as_(d, token, scope=SCOPE):
    return ScopeClient(Client("127.0.0.1", d.port, token=token), scope)


def same_but_name(a, b, name_a, name_b, what):
    eq(json.loads(a.body.decode().replace(name_a, "X")), json.loads(b.body.decode().replace(name_b, "X")),
       f"{what}: the answers for an unreadable and a missing scope differ beyond the name")


@case("reads: a private scope answers exactly like a missing one to whoever may not read it")
def private_reads(ctx):
    d = ctx.daemon()
    toks = users(d)
    d.start()
    eq(d.scope().export(capture("ref-283", 4), client_id_of("ref-283", 4)), [f"{SCOPE}/hello@1.0.0"], "export")
    for who, token in (("anonymous", None), ("a user without a role", toks["out"]), ("a bad token", "nope")):
        priv, miss = as_(d, token), as_(d, token, MISSING)
        for what, req in (("graphql", lambda s: s.graphql(NAME_QUERY)),
                          ("fetch", lambda s: s.fetch([f"{SCOPE}/hello"]))):
            a, b = req(priv), req(miss)
            expect_error(a, 404, 129, f"{what} of a private scope by {who}")
            expect_error(b, 404, 129, f"{what} of a missing scope by {who}")
            same_but_name(a, b, SCOPE, MISSING, f"{what} by {who}")
    eq(as_(d, toks["view"]).graphql_data(NAME_QUERY), {"scope": {"name": SCOPE}}, "a viewer reads")
    check(as_(d, toks["view"]).fetch_objects([f"{SCOPE}/hello"]).objects, "a viewer fetches")


@case("writes: 401 without a valid token, 403 without the role, on any scope name; x-verb decides nothing")
def writes(ctx):
    d = ctx.daemon()
    toks = users(d)
    d.start()
    body = capture("ref-283", 4)
    for scope in (SCOPE, MISSING):
        for token in (None, "scp_not-a-token"):
            s = as_(d, token, scope)
            expect_error(s.put(body, "c1"), 401, 128, f"put to {scope} with token {token}")
            expect_error(s.action("ExportPersist", clientId="c1"), 401, 128, f"action on {scope}")
            # claiming to read changes nothing: the route decides
            expect_error(s.put(body, "c1", headers={"x-verb": "read"}), 401, 128, f"put with x-verb: read to {scope}")
        for who in ("view", "out"):
            s = as_(d, toks[who], scope)
            expect_error(s.put(body, "c1"), 403, 128, f"put by {who} to {scope}")
            expect_error(s.action("ExportValidate", clientId="c1"), 403, 128, f"action by {who} on {scope}")
    # a read with x-verb: write is still a read
    eq(as_(d, toks["view"]).fetch([f"{SCOPE}/hello"], headers={"x-verb": "write"}).status, 200,
       "a viewer's fetch with x-verb: write")
    as_(d, toks["dev"]).expect_no_pending("c1")
    eq(as_(d, toks["dev"]).legacy_list(), [], "nothing was written")
    eq(as_(d, toks["dev"]).export(body, "c2"), [f"{SCOPE}/hello@1.0.0"], "a developer exports")


@case("a pending export belongs to its uploader: others' actions on it are refused")
def pending_owner(ctx):
    d = ctx.daemon()
    toks = users(d)
    d.cli("user", "add", "dev2")
    d.cli("member", "add", SCOPE, "dev2", "developer")
    dev2 = d.cli("token", "create", "dev2").stdout.strip()
    d.start()
    mine, theirs = as_(d, toks["dev"]), as_(d, dev2)
    eq(expect_json(mine.put(capture("ref-283", 4), "77"), 200, "put"), [], "put")
    for action in ("ExportValidate", "ExportPersist", "RemovePendingDir"):
        expect_error(theirs.action(action, clientId="77"), 403, 128, f"{action} by another developer")
    eq(expect_json(mine.action("ExportPersist", clientId="77"), 200, "persist"), [f"{SCOPE}/hello@1.0.0"],
       "the uploader persists")


@case("a public scope: anyone reads, only developers write")
def public_scope(ctx):
    d = ctx.daemon(scopes=(PUB,), public=True)
    d.cli("user", "add", "dev")
    d.cli("member", "add", PUB, "dev", "developer")
    dev = d.cli("token", "create", "dev").stdout.strip()
    d.start()
    body = capture("ref-283", 4)
    anon = as_(d, None, PUB)
    expect_error(anon.put(body, "p1"), 401, 128, "anonymous put to a public scope")
    eq(expect_json(as_(d, dev, PUB).put(body, "p2"), 200, "a developer's put"), [], "put reply")
    eq(anon.graphql_data(NAME_QUERY), {"scope": {"name": PUB}}, "anonymous graphql")
    eq(anon.fetch([f"{PUB}/hello"]).status, 200, "anonymous fetch")


@case("revoked tokens stop working at once; the token list shows it")
def revoked(ctx):
    d = ctx.daemon()
    toks = users(d)
    d.start()
    dev = as_(d, toks["dev"])
    eq(dev.graphql_data(NAME_QUERY), {"scope": {"name": SCOPE}}, "before revoking")
    line = [l for l in d.cli("token", "list", "dev").stdout.splitlines() if l.strip()]
    eq(len(line), 1, "one token of dev listed")
    fields = line[0].split("\t")
    eq(len(fields), 6, f"ID USER LABEL CREATED EXPIRES LAST_USED in {line[0]!r}")
    eq(fields[1:3], ["dev", "tests"], "user and label")
    d.cli("token", "revoke", fields[0])
    expect_error(dev.put(capture("ref-283", 4), "r1"), 401, 128, "put with a revoked token")
    expect_error(dev.graphql(NAME_QUERY), 404, 129, "read of a private scope with a revoked token")
    check("revoked" in d.cli("token", "list", "dev").stdout, "token list marks it revoked")
    check(d.cli("token", "revoke", fields[0], check_rc=False).returncode != 0, "a second revoke fails")


@case("login: good credentials give a working token, wrong ones 401, then 429 with Retry-After")
def login(ctx):
    d = ctx.daemon()
    d.cli("user", "add", "alice")   # token-only user: cannot log in with a password
    p = subprocess.run([str(SCOPED_BIN), "--data", str(d.data), "user", "add", "bob", "--password-stdin"],
                       input="correct horse\n", capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, f"user add --password-stdin: {p.stderr}")
    d.cli("member", "add", SCOPE, "bob", "viewer")
    d.start()
    anon = Client("127.0.0.1", d.port)

    def login_as(user, password):
        return anon.request("POST", "/api/v1/login", json.dumps({"username": user, "password": password}).encode(),
                            {"Content-Type": "application/json"})

    ok = expect_json(login_as("bob", "correct horse"), 200, "good login")
    eq(ok.get("username"), "bob", "login username")
    eq(as_(d, ok["token"]).graphql_data(NAME_QUERY), {"scope": {"name": SCOPE}}, "the login token reads")
    expect_error(login_as("alice", ""), 401, None, "a user without a password")
    expect_error(login_as("nobody", "x"), 401, None, "an unknown user")
    for i in range(8):
        expect_error(login_as("bob", f"wrong {i}"), 401, None, f"wrong password {i}")
    r = login_as("bob", "correct horse")
    expect_error(r, 429, None, "the 11th attempt after 10 failures")
    check((r.header("retry-after") or "").isdigit() and int(r.header("retry-after")) > 0,
          f"Retry-After: {r.header('retry-after')!r}")


@case("no usable token is stored or logged: the index keeps BLAKE2b hashes only")
def tokens_hashed(ctx):
    d = ctx.daemon()
    toks = users(d)
    d.start()
    for t in toks.values():
        as_(d, t).graphql(NAME_QUERY)
    d.stop()
    db = sqlite3.connect(str(d.data / "index.db"))
    rows = db.execute("SELECT hash FROM tokens").fetchall()
    db.close()
    stored = {r[0] for r in rows}
    raw = b"".join(p.read_bytes() for p in d.data.glob("index.db*"))
    log = d.log_path.read_bytes()
    for name, t in toks.items():
        check(t.encode() not in raw, f"{name}'s token is in the index files")
        check(t.encode() not in log, f"{name}'s token is in the log")
        check(hashlib.blake2b(t.encode(), digest_size=32).hexdigest() in stored, f"{name}'s token hash stored")


@case("admin API: users, tokens, scopes and members; private scopes hidden from outsiders")
def admin_api(ctx):
    d = ctx.daemon()
    toks = users(d)
    d.start()
    admin = Client("127.0.0.1", d.port, token=d.token)
    dev = Client("127.0.0.1", d.port, token=toks["dev"])
    out = Client("127.0.0.1", d.port, token=toks["out"])

    def call(c, method, path, body=None):
        return c.request(method, path, json.dumps(body).encode() if body is not None else None,
                         {"Content-Type": "application/json"})

    eq(expect_json(call(dev, "GET", "/api/v1/me"))["username"], "dev", "me")
    expect_error(call(Client("127.0.0.1", d.port), "GET", "/api/v1/me"), 401, 128, "me anonymously")
    expect_error(call(dev, "POST", "/api/v1/users", {"username": "eve"}), 403, 128, "a developer adds a user")
    expect_json(call(admin, "POST", "/api/v1/users", {"username": "eve", "password": "long enough"}), 201, "add")
    new = expect_json(call(dev, "POST", "/api/v1/tokens", {"label": "laptop"}), 201, "own token")
    check(new["token"].startswith("scp_"), "token text")
    listed = expect_json(call(dev, "GET", "/api/v1/tokens"))["tokens"]
    check(all(t["username"] == "dev" for t in listed) and len(listed) == 2, f"dev's tokens: {listed}")
    check(new["token"] not in json.dumps(listed), "a token list never shows tokens")
    expect_error(call(out, "DELETE", f"/api/v1/tokens/{new['id']}"), 400, 132, "revoking another's token")
    expect_json(call(dev, "DELETE", f"/api/v1/tokens/{new['id']}"), 200, "revoking one's own")
    expect_error(call(Client("127.0.0.1", d.port, token=new["token"]), "GET", "/api/v1/me"), 401, 128,
                 "the revoked token")
    eq([s["name"] for s in expect_json(call(out, "GET", "/api/v1/scopes"))["scopes"]], [], "outsider's scopes")
    eq([s["name"] for s in expect_json(call(dev, "GET", "/api/v1/scopes"))["scopes"]], [SCOPE], "member's scopes")
    expect_error(call(dev, "POST", f"/api/v1/scopes/{SCOPE}/members", {"username": "out", "role": "viewer"}),
                 403, 128, "a developer changes members")
    expect_json(call(admin, "POST", f"/api/v1/scopes/{SCOPE}/members", {"username": "out", "role": "viewer"}))
    eq([s["name"] for s in expect_json(call(out, "GET", "/api/v1/scopes"))["scopes"]], [SCOPE], "now a viewer")
    audit = expect_json(call(admin, "GET", "/api/v1/audit"))["audit"]
    check(any(a["action"] == "member.set" and a["actor"] == "tester" for a in audit), f"audit: {audit[:3]}")


@case("audit: an export is recorded with who, when and from where")
def audit_export(ctx):
    d = ctx.daemon()
    toks = users(d)
    d.start()
    as_(d, toks["dev"]).export(capture("ref-283", 4), "a1")
    lines = d.cli("audit").stdout.splitlines()
    hit = [l for l in lines if "\texport\t" in l]
    check(hit and "\tdev\t127.0.0.1\texport\tmyorg.myscope\t" in hit[0], f"audit lines: {lines[:5]}")
