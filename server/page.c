/* The shared half of the web pages: layout, security headers, sessions and CSRF. */
#include "page.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The one stylesheet. The CSP allows exactly this text by its hash: no script, no other style,
 * no style attribute, nothing loaded from anywhere. */
static const char stylesheet[] =
    "body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2433;background:#fff}"
    "header{display:flex;gap:1.2em;align-items:center;padding:.6em 1.5em;background:#1d2433;"
    "color:#fff}"
    "header a{color:#fff;text-decoration:none}header a:hover{text-decoration:underline}"
    "header .brand{font-weight:600;margin-right:auto}header form{margin:0}"
    "header button{font:inherit;background:none;border:1px solid #8a93a6;color:#fff;"
    "border-radius:4px;padding:0 .7em;cursor:pointer}"
    "main{max-width:64em;margin:1.5em auto;padding:0 1.5em}"
    "main.narrow{max-width:28em;margin-top:4em}"
    "main.narrow input{width:100%}main.narrow button{margin-top:1.2em}"
    "h1{font-size:1.6em;margin:.2em 0 .6em;word-break:break-word}"
    "h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #e3e6ec;padding-bottom:.2em}"
    "h3{font-size:1em;margin:1.2em 0 .3em;color:#4b5468}"
    "a{color:#0b5cad}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #eceef2;vertical-align:top}"
    "th{font-weight:600;color:#4b5468;font-size:.9em}"
    "tr.chosen td{background:#f0f5fc}"
    "table.components{table-layout:fixed}table.components th:nth-child(1){width:46%}"
    "table.components th:nth-child(2){width:14%}table.components th:nth-child(3){width:22%}"
    "td{overflow-wrap:anywhere}"
    "pre,code{font:13px/1.45 ui-monospace,Menlo,Consolas,monospace}"
    "pre{background:#f5f6f8;border:1px solid #e3e6ec;border-radius:4px;padding:.8em;"
    "overflow:auto;white-space:pre}"
    ".muted{color:#6b7385}"
    ".badge{display:inline-block;font-size:.75em;padding:0 .5em;border-radius:3px;"
    "background:#e8ecf3;color:#33405a;vertical-align:middle}"
    ".badge.warn{background:#fdecc8;color:#7a4b00}"
    ".error{color:#a00}"
    ".notice{background:#eef7ee;border:1px solid #b9dcb9;padding:.4em .9em;border-radius:4px}"
    "label{display:block;margin:.8em 0 .2em}"
    "input,select{font:inherit;padding:.35em;box-sizing:border-box}"
    "button{font:inherit;padding:.35em 1em;cursor:pointer}"
    "form.inline{display:inline;margin:0}"
    ".row{display:flex;gap:.6em;align-items:end;flex-wrap:wrap;margin:.8em 0}"
    ".row label{margin:0}.grow{flex:1}.grow input{width:100%}";

static char csp_pages[512], csp_login[640];
static pthread_once_t csp_once = PTHREAD_ONCE_INIT;

static void csp_init(void)
{
    unsigned char d[crypto_hash_sha256_BYTES];
    char b64[64];
    crypto_hash_sha256(d, (const unsigned char *)stylesheet, strlen(stylesheet));
    sodium_bin2base64(b64, sizeof b64, d, sizeof d, sodium_base64_VARIANT_ORIGINAL);
    snprintf(csp_pages, sizeof csp_pages,
             "default-src 'none'; style-src 'sha256-%s'; form-action 'self'; "
             "frame-ancestors 'none'; base-uri 'none'",
             b64);
    /* after signing in, /bit-login's form redirects to the CLI's listener on this machine */
    snprintf(csp_login, sizeof csp_login,
             "default-src 'none'; style-src 'sha256-%s'; form-action 'self' "
             "http://localhost:* http://127.0.0.1:*; frame-ancestors 'none'; base-uri 'none'",
             b64);
}

const char *page_query(req_t *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

bool page_form(req_t *r, const char *key, char *out, size_t outlen)
{
    out[0] = 0;
    return form_value((const char *)r->body.data, r->body.len, key, out, outlen);
}

void page_begin(page_t *p, req_t *r)
{
    memset(p, 0, sizeof *p);
    p->r = r;
    buf_init(&p->b);
    const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SESSION_COOKIE);
    identity_t who;
    if (!cookie || strlen(cookie) >= sizeof p->session ||
        session_identify(app_index(r->app), cookie, &who) != 0 || !who.authenticated)
        return;
    r->who = who;
    snprintf(p->session, sizeof p->session, "%s", cookie);
    session_csrf(p->session, "session", p->csrf);
}

void page_text(page_t *p, const char *s)
{
    html_escape(&p->b, s ? s : "");
}

void page_csrf_field(page_t *p)
{
    buf_printf(&p->b, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", p->csrf);
}

bool page_csrf_ok(page_t *p)
{
    char given[CSRF_TEXT_MAX + 1];
    return p->session[0] && page_form(p->r, "csrf", given, sizeof given) &&
           session_csrf_ok(p->session, "session", given);
}

void page_head(page_t *p, const char *title)
{
    buf_append_str(&p->b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                          "<meta name=\"viewport\" content=\"width=device-width\"><title>");
    page_text(p, title);
    buf_printf(&p->b, " · scoped</title><style>%s</style></head><body><header>"
                      "<a class=\"brand\" href=\"/\">scoped</a>",
               stylesheet);
    if (p->session[0]) {
        buf_append_str(&p->b, "<span id=\"who\">");
        page_text(p, p->r->who.user);
        buf_append_str(&p->b, "</span><a href=\"/tokens\" id=\"nav-tokens\">Tokens</a>");
        if (p->r->who.is_admin)
            buf_append_str(&p->b, "<a href=\"/admin\" id=\"nav-admin\">Admin</a>");
        buf_append_str(&p->b, "<form method=\"post\" action=\"/logout\">");
        page_csrf_field(p);
        buf_append_str(&p->b, "<button type=\"submit\" id=\"sign-out\">Sign out</button></form>");
    } else if (strncmp(p->r->path, "/bit-login", 10) != 0) {
        buf_append_str(&p->b, "<a id=\"sign-in\" href=\"/bit-login?next=");
        url_encode(&p->b, p->r->path);
        buf_append_str(&p->b, "\">Sign in</a>");
    }
    buf_append_str(&p->b, "</header>");
}

void page_end(page_t *p)
{
    buf_append_str(&p->b, "</body></html>");
}

static void add_headers(page_t *p, struct MHD_Response *resp)
{
    pthread_once(&csp_once, csp_init);
    MHD_add_response_header(resp, "Content-Security-Policy",
                            p->cli_redirect ? csp_login : csp_pages);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (int i = 0; i < 2; i++)
        if (p->set_cookie[i])
            MHD_add_response_header(resp, "Set-Cookie", p->set_cookie[i]);
}

int page_reply(page_t *p, int status)
{
    size_t len = p->b.len;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, p->b.data, MHD_RESPMEM_MUST_COPY);
    buf_free(&p->b);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
    add_headers(p, resp);
    p->r->bytes_out = len;
    return reply_response(p->r, status, resp);
}

int page_redirect(page_t *p, const char *location)
{
    buf_free(&p->b);
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Location", location);
    add_headers(p, resp);
    return reply_response(p->r, 303, resp);
}

int page_sign_in_first(page_t *p)
{
    buf_t loc;
    buf_init(&loc);
    buf_append_str(&loc, "/bit-login?next=");
    url_encode(&loc, p->r->path);
    int rc = page_redirect(p, buf_cstr(&loc));
    buf_free(&loc);
    return rc;
}

int page_message(page_t *p, int status, const char *title, const char *msg)
{
    buf_reset(&p->b);
    page_head(p, title);
    buf_append_str(&p->b, "<main><h1 id=\"title\">");
    page_text(p, title);
    buf_append_str(&p->b, "</h1><p id=\"message\">");
    page_text(p, msg);
    buf_append_str(&p->b, "</p><p><a href=\"/\">All scopes</a></p></main>");
    page_end(p);
    return page_reply(p, status);
}

int page_not_found(page_t *p)
{
    /* browsers get a page; scripts get Bit's error shape, as for any unknown route */
    const char *accept = req_header(p->r, "accept");
    if (!accept || !strstr(accept, "text/html")) {
        buf_free(&p->b);
        err_set(&p->r->err, ERR_NO_ROUTE, "no route for %s %.300s", p->r->method, p->r->path);
        return reply_error(p->r, &p->r->err);
    }
    return page_message(p, 404, "Not found", "There is no page here, or you may not see it.");
}

void page_time(page_t *p, int64_t t)
{
    if (t <= 0) {
        buf_append_str(&p->b, "—");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    char s[40];
    if (!gmtime_r(&tt, &tm) || !strftime(s, sizeof s, "%Y-%m-%d %H:%M UTC", &tm)) {
        buf_append_str(&p->b, "—");
        return;
    }
    buf_printf(&p->b, "<time datetime=\"%lld\">%s</time>", (long long)t, s);
}

void page_ms_date(page_t *p, const char *ms)
{
    char *end;
    long long v = ms && *ms ? strtoll(ms, &end, 10) : 0;
    page_time(p, v > 0 && !*end ? v / 1000 : 0);
}

void page_origin(page_t *p, buf_t *out)
{
    /* the Host the visitor used, if it looks like one; the page escapes it anyway */
    const char *host = req_header(p->r, "host");
    bool ok = host && *host && strlen(host) < 256;
    for (const char *c = host; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
             *c == '.' || *c == '-' || *c == ':' || *c == '[' || *c == ']';
    buf_printf(out, "%s://%s", p->r->app->cfg.cookie_secure ? "https" : "http",
               ok ? host : p->r->app->cfg.listen);
}
