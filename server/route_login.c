/* Signing in: POST /api/v1/login (JSON) and the page `bit login` opens, /bit-login
 * (protocol.md §11): a form that, on success, sends the browser back to the CLI's listener on
 * http://localhost:<port>/ with a fresh token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "app.h"
#include "log.h"
#include "page.h"

/* The query (GET) or form (POST) parameters the login page carries through. */
typedef struct {
    char port[16], client_id[256], redirect_uri[1024], device[128];
    char user[NAME_MAX_LEN]; /* kept when a wrong password sends the form back */
    char next[512];          /* signing in to the web pages: where to go afterwards */
    char csrf[CSRF_TEXT_MAX + 1];
} login_params_t;

static const char *query_arg(req_t *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* Browsers sign in to the web pages with this form too (no port): then it carries the page to
 * return to, and a CSRF token tied to a short-lived nonce cookie, so that no other site can sign
 * a visitor in to an account of its choosing. */
static void login_form(page_t *pg, const login_params_t *p, const char *error)
{
    page_head(pg, "Sign in to scoped");
    buf_t *b = &pg->b;
    buf_append_str(b, "<main class=\"narrow\"><h1>Sign in to scoped</h1>");
    if (error) {
        buf_append_str(b, "<p class=\"error\" id=\"error\">");
        html_escape(b, error);
        buf_append_str(b, "</p>");
    }
    buf_append_str(b, "<form method=\"post\" action=\"/bit-login\">"
                      "<label for=\"username\">Username</label>"
                      "<input id=\"username\" name=\"username\" autocomplete=\"username\" "
                      "required value=\"");
    html_escape(b, p->user);
    buf_append_str(b, "\">"
                      "<label for=\"password\">Password</label>"
                      "<input id=\"password\" name=\"password\" type=\"password\" "
                      "autocomplete=\"current-password\" required>");
    const char *names[] = {"port", "clientId", "redirectUri", "deviceName", "next", "csrf"};
    const char *vals[] = {p->port, p->client_id, p->redirect_uri, p->device, p->next, p->csrf};
    for (int i = 0; i < 6; i++) {
        if (!vals[i][0])
            continue;
        buf_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", names[i]);
        html_escape(b, vals[i]);
        buf_append_str(b, "\">");
    }
    buf_append_str(b, "<button type=\"submit\" id=\"submit\">Sign in</button></form>");
    if (p->port[0])
        buf_append_str(b, "<p>After signing in, your browser hands a new API token to the Bit CLI "
                          "that opened this page.</p>");
    buf_append_str(b, "</main>");
    page_end(pg);
}

/* A local path to return to after signing in: "/..." but never "//host" or "/\\host". */
static bool next_valid(const char *s)
{
    if (s[0] != '/' || s[1] == '/' || s[1] == '\\')
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || *s == '\\' || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/* A fresh sign-in nonce: its cookie goes with the reply, its CSRF token into the form. */
static void signin_nonce(page_t *pg, login_params_t *p, char cookie[200])
{
    char nonce[SESSION_TEXT_MAX];
    session_nonce(nonce);
    session_csrf(nonce, "signin", p->csrf);
    snprintf(cookie, 200, SIGNIN_COOKIE "=%s; Path=/bit-login; Max-Age=3600; HttpOnly; "
                          "SameSite=Strict%s",
             nonce, pg->r->app->cfg.cookie_secure ? "; Secure" : "");
    sodium_memzero(nonce, sizeof nonce);
    pg->set_cookie[0] = cookie;
}

static bool port_valid(const char *p)
{
    char *end;
    long v = strtol(p, &end, 10);
    return *p && !*end && v > 0 && v < 65536;
}

int handle_bit_login_page(req_t *r)
{
    login_params_t p = {0};
    const char *v;
    if ((v = query_arg(r, "port")))
        snprintf(p.port, sizeof p.port, "%s", v);
    if ((v = query_arg(r, "clientId")))
        snprintf(p.client_id, sizeof p.client_id, "%s", v);
    if ((v = query_arg(r, "redirectUri")))
        snprintf(p.redirect_uri, sizeof p.redirect_uri, "%s", v);
    if ((v = query_arg(r, "deviceName")))
        snprintf(p.device, sizeof p.device, "%s", v);
    if ((v = query_arg(r, "next")) && next_valid(v))
        snprintf(p.next, sizeof p.next, "%s", v);
    page_t pg;
    page_begin(&pg, r);
    pg.cli_redirect = p.port[0] != 0;
    char cookie[200];
    if (!p.port[0])
        signin_nonce(&pg, &p, cookie);
    const char *err = p.port[0] && !port_valid(p.port) ? "The link's port is not valid." : NULL;
    login_form(&pg, &p, err);
    return page_reply(&pg, err ? 400 : 200);
}

int handle_bit_login_done(req_t *r)
{
    page_t pg;
    page_begin(&pg, r);
    page_head(&pg, "Signed in");
    buf_append_str(&pg.b, "<main class=\"narrow\"><h1 id=\"signed-in\">You are signed in</h1>"
                          "<p>The Bit CLI has its token. You can close this page and return to "
                          "your terminal.</p></main>");
    page_end(&pg);
    return page_reply(&pg, 200);
}

/* Signed in from a browser: a session cookie, and back to the page the visitor came from. */
static int start_session(page_t *pg, const login_params_t *p)
{
    req_t *r = pg->r;
    char text[SESSION_TEXT_MAX], cookie[256];
    if (session_create(app_index(r->app), &r->who, r->app->cfg.lim.session_lifetime_s, text) != 0) {
        err_set(&r->err, ERR_INTERNAL, "cannot start a session");
        return reply_error(r, &r->err);
    }
    snprintf(cookie, sizeof cookie, SESSION_COOKIE "=%s; Path=/; Max-Age=%llu; HttpOnly; "
                                    "SameSite=Strict%s",
             text, (unsigned long long)r->app->cfg.lim.session_lifetime_s,
             r->app->cfg.cookie_secure ? "; Secure" : "");
    sodium_memzero(text, sizeof text);
    pg->set_cookie[0] = cookie;
    pg->set_cookie[1] = SIGNIN_COOKIE "=; Path=/bit-login; Max-Age=0; HttpOnly; SameSite=Strict";
    auth_audit(app_index(r->app), &r->who, r->address, "session.start", NULL, NULL);
    int rc = page_redirect(pg, next_valid(p->next) ? p->next : "/");
    sodium_memzero(cookie, sizeof cookie);
    return rc;
}

/* Checks the rate limit, then the credentials; 0 with who filled, else r->err is set. */
static int try_login(req_t *r, const char *user, const char *password, identity_t *who)
{
    int64_t now = (int64_t)time(NULL);
    uint64_t wait = ratelimit_wait(r->app->login_failures, r->address, now);
    if (wait) {
        r->retry_after = wait;
        return err_set(&r->err, ERR_RATE_LIMITED, "too many failed logins; try again in %llu s",
                       (unsigned long long)wait);
    }
    int rc = user && password ? auth_login(app_index(r->app), user, password, who) : 1;
    if (rc < 0)
        return err_set(&r->err, ERR_INTERNAL, "index unavailable");
    if (rc == 1) {
        ratelimit_fail(r->app->login_failures, r->address, now);
        auth_audit(app_index(r->app), NULL, r->address, "login.failed", NULL, user ? user : "");
        return err_set(&r->err, ERR_LOGIN_FAILED, "wrong username or password");
    }
    return 0;
}

static int issue(req_t *r, const identity_t *who, const char *label, char text[TOKEN_TEXT_MAX])
{
    int64_t id;
    store_t st = app_store(r->app);
    err_t err;
    err_init(&err);
    if (accounts_token_create(&st, who, r->address, who->user, label, 0, text, &id, &err) != 0)
        return err_set(&r->err, ERR_INTERNAL, "cannot create a token: %s", err.msg);
    return 0;
}

int handle_api_login(req_t *r)
{
    json_t *body = req_json(r);
    if (!body)
        return reply_error(r, &r->err);
    const char *user = json_string_value(json_object_get(body, "username"));
    const char *password = json_string_value(json_object_get(body, "password"));
    identity_t who;
    char text[TOKEN_TEXT_MAX];
    int rc = try_login(r, user, password, &who);
    if (rc == 0)
        rc = issue(r, &who, "login", text);
    json_decref(body);
    if (rc != 0)
        return reply_error(r, &r->err);
    r->who = who;
    int out = reply_json(r, 200, json_pack("{s:s, s:s}", "token", text, "username", who.user));
    sodium_memzero(text, sizeof text);
    return out;
}

int handle_bit_login_post(req_t *r)
{
    const char *body = (const char *)r->body.data;
    size_t len = r->body.len;
    char password[1100] = "";
    login_params_t p = {0};
    bool have_user = form_value(body, len, "username", p.user, sizeof p.user);
    bool have_pass = form_value(body, len, "password", password, sizeof password);
    form_value(body, len, "port", p.port, sizeof p.port);
    form_value(body, len, "clientId", p.client_id, sizeof p.client_id);
    form_value(body, len, "redirectUri", p.redirect_uri, sizeof p.redirect_uri);
    form_value(body, len, "deviceName", p.device, sizeof p.device);
    form_value(body, len, "next", p.next, sizeof p.next);
    form_value(body, len, "csrf", p.csrf, sizeof p.csrf);
    page_t pg;
    page_begin(&pg, r);
    pg.cli_redirect = p.port[0] != 0;
    char cookie[200];
    if (!p.port[0]) {
        /* a browser signing in to the pages: the form must be one this server gave it */
        const char *nonce = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SIGNIN_COOKIE);
        if (!session_csrf_ok(nonce, "signin", p.csrf)) {
            sodium_memzero(password, sizeof password);
            signin_nonce(&pg, &p, cookie);
            login_form(&pg, &p, "The sign-in form expired. Please sign in again.");
            return page_reply(&pg, 403);
        }
    }
    identity_t who;
    int rc = try_login(r, have_user ? p.user : NULL, have_pass ? password : NULL, &who);
    sodium_memzero(password, sizeof password);
    if (rc != 0) {
        buf_free(&pg.b);
        if (r->err.kind == ERR_INTERNAL)
            return reply_error(r, &r->err);
        login_form(&pg, &p, r->err.msg);
        return page_reply(&pg, err_http_status(r->err.kind));
    }
    r->who = who;
    if (!p.port[0])
        return start_session(&pg, &p);
    if (!port_valid(p.port)) {
        login_form(&pg, &p, "The link's port is not valid.");
        return page_reply(&pg, 400);
    }
    buf_t b;
    buf_init(&b);
    char text[TOKEN_TEXT_MAX], label[200];
    snprintf(label, sizeof label, "bit login%s%s", p.device[0] ? " on " : "", p.device);
    if (issue(r, &who, label, text) != 0)
        return reply_error(r, &r->err);
    /* old CLIs answer the browser with a redirect to redirectUri and fail without one */
    buf_t done;
    buf_init(&done);
    if (!p.redirect_uri[0]) {
        const char *host = req_header(r, "host");
        buf_printf(&done, "http://%s/bit-login/done", host ? host : "localhost");
    } else {
        buf_append_str(&done, p.redirect_uri);
    }
    buf_printf(&b, "http://localhost:%s/?token=", p.port);
    url_encode(&b, text);
    buf_append_str(&b, "&username=");
    url_encode(&b, who.user);
    buf_append_str(&b, "&clientId=");
    url_encode(&b, p.client_id);
    buf_append_str(&b, "&redirectUri=");
    url_encode(&b, buf_cstr(&done));
    buf_free(&done);
    sodium_memzero(text, sizeof text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        buf_free(&b);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Location", buf_cstr(&b));
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    sodium_memzero(b.data, b.len);
    buf_free(&b);
    return reply_response(r, 302, resp);
}
