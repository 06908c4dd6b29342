"""The web pages over plain HTTP, as a browser speaks it (cookies, forms): private scopes are
invisible here too, every page carries strict security headers, sessions are HttpOnly and
SameSite=Strict cookies stored hashed that expire and end at sign-out, every form needs the
session's CSRF token, and a session never authorizes the protocol or the JSON API.
(tests/browser/pages.sh drives the same pages in Chromium.)"""
import base64
import hashlib
import json
import re
import sqlite3
import subprocess
import time
from http import client as httpclient
from urllib.parse import quote, urlencode

from client import NAME_QUERY, Client, ScopeClient, expect_error, expect_json
from harness import SCOPE, SCOPED_BIN, capture, case, check, client_id_of, eq

MISSING = "myorg.nothere"
PASSWORD = "a long password 1"


class Page:
    def __init__(self, status, headers, cookies, body):
        self.status, self.headers, self.set_cookies, self.text = status, headers, cookies, body

    def header(self, name):
        return self.headers.get(name.lower())

    def csrf(self):
        m = re.search(r'name="csrf" value="([0-9a-f]{64})"', self.text)
        check(m, f"no CSRF field on the page: {self.text[:300]}")
        return m.group(1)


class Visitor:
    """A browser's side of HTTP: keeps cookies, sends forms, does not follow redirects."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}

    def request(self, method, path, form=None, html=True, headers=None):
        h = {"Accept": "text/html,application/xhtml+xml"} if html else {}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        h.update(headers or {})
        conn = httpclient.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body, h)
            resp = conn.getresponse()
            data = resp.read().decode("utf-8", "replace")
            raw = resp.getheaders()
        finally:
            conn.close()
        set_cookies = [v for k, v in raw if k.lower() == "set-cookie"]
        for sc in set_cookies:
            name, _, rest = sc.partition("=")
            if "Max-Age=0" in sc:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = rest.split(";")[0]
        return Page(resp.status, {k.lower(): v for k, v in raw}, set_cookies, data)

    def sign_in(self, user, password=PASSWORD, next_="/"):
        form = self.request("GET", f"/bit-login?next={quote(next_, safe='')}")
        eq(form.status, 200, "GET /bit-login")
        return self.request("POST", "/bit-login", {"username": user, "password": password,
                                                   "next": next_, "csrf": form.csrf()})


def accounts(d):
    """alice: developer of SCOPE; bob: no role; root: server admin. All with PASSWORD."""
    for name, flags in (("alice", []), ("bob", []), ("root", ["--admin"])):
        p = subprocess.run([str(SCOPED_BIN), "--data", str(d.data), "user", "add", name, *flags,
                            "--password-stdin"], input=PASSWORD + "\n", capture_output=True, text=True,
                           timeout=60)
        check(p.returncode == 0, f"user add {name}: {p.stderr}")
    d.cli("member", "add", SCOPE, "alice", "developer")


def signed_in(d, user):
    v = Visitor(d.port)
    page = v.sign_in(user)
    eq(page.status, 303, f"sign-in of {user} ({page.text[:200]})")
    check("scoped_session" in v.cookies, f"no session cookie for {user}")
    return v


def with_hello(d):
    eq(d.scope().export(capture("ref-283", 4), client_id_of("ref-283", 4)), [f"{SCOPE}/hello@1.0.0"], "export")


@case("a private scope and its components answer exactly as missing ones, to browsers and scripts")
def private_pages(ctx):
    d = ctx.daemon()
    accounts(d)
    with_hello(d)
    for who, v in (("anonymous", Visitor(d.port)), ("a user without a role", signed_in(d, "bob"))):
        for html in (True, False):
            for tail in ("", "/~/hello"):
                a = v.request("GET", f"/{SCOPE}{tail}", html=html)
                b = v.request("GET", f"/{MISSING}{tail}", html=html)
                what = f"GET /<scope>{tail} by {who} ({'browser' if html else 'script'})"
                eq((a.status, b.status), (404, 404), what)
                eq(a.text.replace(SCOPE, "X"), b.text.replace(MISSING, "X"), f"{what}: private and missing differ")
                if html:   # (the header's sign-in link names the path asked for)
                    check("hello" not in a.text.split("<main>")[-1], f"{what}: the page names the component")
                else:
                    eq(json.loads(a.text)["error"]["code"], 132, f"{what}: error code")
        home = v.request("GET", "/")
        eq(home.status, 200, f"/ for {who}")
        check(SCOPE not in home.text, f"/ shows the private scope to {who}")
    alice = signed_in(d, "alice")
    check(SCOPE in alice.request("GET", "/").text, "/ does not show the scope to its member")
    page = alice.request("GET", f"/{SCOPE}/~/hello")
    eq(page.status, 200, "the component page for a member")
    check(f"bit import {SCOPE}/hello" in page.text, "the component page has no import line")


@case("every page has a strict CSP (its one stylesheet by hash, no script), nosniff, no-store, no framing")
def security_headers(ctx):
    d = ctx.daemon(public=True)
    with_hello(d)
    v = Visitor(d.port)
    for path, status in (("/", 200), (f"/{SCOPE}", 200), (f"/{SCOPE}/~/hello", 200), ("/bit-login", 200),
                         ("/bit-login?port=1234&clientId=x", 200), (f"/{MISSING}", 404)):
        p = v.request("GET", path)
        eq(p.status, status, f"GET {path}")
        csp = p.header("content-security-policy") or ""
        check("default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
              and "unsafe" not in csp and "script-src" not in csp, f"{path}: the CSP is not strict: {csp}")
        style = re.search(r"<style>(.*?)</style>", p.text, re.S)
        check(style, f"{path}: no stylesheet")
        digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
        check(f"style-src 'sha256-{digest}'" in csp, f"{path}: the CSP does not allow the page's stylesheet")
        check("<script" not in p.text.lower() and " style=" not in p.text, f"{path}: a script or style attribute")
        eq((p.header("x-content-type-options"), p.header("x-frame-options"), p.header("cache-control")),
           ("nosniff", "DENY", "no-store"), f"{path}: headers")
        eq(p.header("content-type"), "text/html; charset=utf-8", f"{path}: content type")


def cookie_attrs(set_cookie):
    return {a.strip().split("=")[0] for a in set_cookie.split(";")[1:]}


@case("sessions: HttpOnly SameSite=Strict cookie kept only hashed, back to a local page, ended by sign-out")
def sessions(ctx):
    d = ctx.daemon()
    accounts(d)
    v = Visitor(d.port)
    form = v.request("GET", "/bit-login?next=%2Ftokens")
    nonce = [c for c in form.set_cookies if c.startswith("scoped_signin=")]
    check(nonce and {"HttpOnly", "SameSite", "Path"} <= cookie_attrs(nonce[0]), f"sign-in nonce cookie: {nonce}")
    eq(v.request("POST", "/bit-login", {"username": "alice", "password": "wrong one!", "csrf": form.csrf(),
                                        "next": "/tokens"}).status, 401, "a wrong password")
    check("scoped_session" not in v.cookies, "a wrong password got a session")
    page = v.request("POST", "/bit-login", {"username": "alice", "password": PASSWORD, "csrf": form.csrf(),
                                            "next": "/tokens"})
    eq((page.status, page.header("location")), (303, "/tokens"), "sign-in answer")
    sc = [c for c in page.set_cookies if c.startswith("scoped_session=")][0]
    attrs = cookie_attrs(sc)
    check({"HttpOnly", "SameSite", "Path", "Max-Age"} <= attrs and "Secure" not in attrs and "SameSite=Strict" in sc,
          f"session cookie: {sc.split(';', 1)[1]}")
    secret = v.cookies["scoped_session"]
    check(secret not in page.header("location"), "the secret is in the redirect")
    db = sqlite3.connect(d.data / "index.db")
    rows = db.execute("SELECT hash, expires_at - created_at FROM sessions").fetchall()
    eq(rows, [(hashlib.blake2b(secret.encode(), digest_size=32).hexdigest(), 12 * 3600)], "the stored session")
    for f in d.data.glob("index.db*"):
        check(secret.encode() not in f.read_bytes(), f"the session secret is in {f.name}")
    check(secret not in d.log_path.read_text(), "the session secret is in the log")
    eq(v.request("GET", "/tokens").status, 200, "/tokens signed in")

    for bad in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        w = Visitor(d.port)
        eq(w.sign_in("alice", next_=bad).header("location"), "/", f"next={bad}")
    forged = Visitor(d.port).request("POST", "/bit-login", {"username": "alice", "password": PASSWORD, "next": "/"})
    eq(forged.status, 403, "a sign-in without the form's CSRF token")
    check(not any(c.startswith("scoped_session=") for c in forged.set_cookies), "a forged sign-in got a session")

    eq(v.request("POST", "/logout", {}).status, 403, "sign-out without the CSRF token")
    eq(v.request("GET", "/tokens").status, 200, "the session survives a forged sign-out")
    out = v.request("POST", "/logout", {"csrf": v.request("GET", "/tokens").csrf()})
    eq((out.status, out.header("location")), (303, "/"), "sign-out")
    eq(db.execute("SELECT count(*) FROM sessions WHERE hash = ?", (rows[0][0],)).fetchone()[0], 0,
       "the session after sign-out")
    v.cookies["scoped_session"] = secret   # a copy of the old cookie
    again = v.request("GET", "/tokens")
    eq((again.status, again.header("location")), (303, "/bit-login?next=%2Ftokens"), "the ended session")


@case("sessions expire after session_lifetime; cookie_secure = yes makes the cookies Secure")
def session_expiry(ctx):
    d = ctx.daemon(config="session_lifetime = 2s\ncookie_secure = yes\n")
    accounts(d)
    v = Visitor(d.port)
    form = v.request("GET", "/bit-login")
    check(all("Secure" in cookie_attrs(c) for c in form.set_cookies) and form.set_cookies, "nonce cookie not Secure")
    page = v.request("POST", "/bit-login", {"username": "alice", "password": PASSWORD, "csrf": form.csrf()})
    sc = [c for c in page.set_cookies if c.startswith("scoped_session=")][0]
    check("Secure" in cookie_attrs(sc) and "Max-Age=2" in sc, f"session cookie: {sc.split(';', 1)[1]}")
    eq(v.request("GET", "/tokens").status, 200, "/tokens within the lifetime")
    time.sleep(2.5)
    eq(v.request("GET", "/tokens").status, 303, "/tokens after the lifetime")


@case("forms need the session's CSRF token; a session authorizes neither the protocol nor the JSON API")
def csrf_and_scope_of_sessions(ctx):
    d = ctx.daemon()
    accounts(d)
    with_hello(d)
    alice, bob = signed_in(d, "alice"), signed_in(d, "bob")
    bob_csrf = bob.request("GET", "/tokens").csrf()
    for what, form in (("no CSRF token", {"label": "forged"}),
                       ("another session's token", {"label": "forged", "csrf": bob_csrf}),
                       ("a wrong token", {"label": "forged", "csrf": "0" * 64})):
        eq(alice.request("POST", "/tokens", form).status, 403, f"a token form with {what}")
    check("forged" not in alice.request("GET", "/tokens").text, "a forged form created a token")
    made = alice.request("POST", "/tokens", {"label": "from the page", "days": "3",
                                             "csrf": alice.request("GET", "/tokens").csrf()})
    eq(made.status, 201, "creating a token")
    token = re.search(r'id="new-token">([^<]+)<', made.text).group(1)
    eq(expect_json(Client("127.0.0.1", d.port, token=token).request("GET", "/api/v1/me"))["username"], "alice",
       "the page's token on the API")
    check(token not in alice.request("GET", "/tokens").text, "the token is shown again")

    cookie = {"Cookie": f"scoped_session={alice.cookies['scoped_session']}"}
    anon = ScopeClient(Client("127.0.0.1", d.port), SCOPE)
    expect_error(anon.http.request("POST", f"/{SCOPE}/graphql", json.dumps({"query": NAME_QUERY}).encode(),
                                   {"Content-Type": "application/json", **cookie}), 404, 129,
                 "graphql of the private scope with a session cookie only")
    expect_error(anon.http.request("GET", "/api/v1/me", headers=cookie), 401, 128, "the API with a session cookie")

    eq(alice.request("GET", "/admin").status, 403, "/admin for a user who is no server admin")
    eq(alice.request("POST", "/admin/scopes", {"name": "alice.made", "csrf": alice.request("GET", "/tokens").csrf()}
                     ).status, 403, "creating a scope as no server admin")
    eq(alice.request("GET", f"/scopes/{SCOPE}/members").status, 404, "members page for a developer")
    root = signed_in(d, "root")
    csrf = root.request("GET", "/admin").csrf()
    made = root.request("POST", "/admin/scopes", {"name": "root.made", "public": "1", "csrf": csrf})
    eq((made.status, made.header("location")), (303, "/root.made"), "an admin creates a scope")
    check("root.made" in d.cli("scope", "list").stdout, "the new scope is not listed")
    added = root.request("POST", "/scopes/root.made/members", {"user": "alice", "role": "viewer", "csrf": csrf})
    eq(added.status, 303, "an admin adds a member")
    members = expect_json(d.client().request("GET", "/api/v1/scopes/root.made/members"))["members"]
    eq(members, [{"username": "alice", "role": "viewer"}], "members of the new scope")
    bad = root.request("POST", "/scopes/root.made/members", {"user": "alice", "role": "owner", "csrf": csrf})
    eq(bad.status, 400, "an unknown role")
    check("role must be" in bad.text, "the members page does not say what was wrong")
