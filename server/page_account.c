/* The signed-in visitor's own pages: /tokens (create one, shown once; revoke) and POST /logout.
 * Every form carries the session's CSRF token; a change answers with a redirect, except a new
 * token, which only that one reply ever shows. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "page.h"

typedef struct {
    page_t *p;
    int n;
} tokens_t;

static int token_row(void *ctx, const token_row_t *t)
{
    tokens_t *tl = ctx;
    page_t *p = tl->p;
    buf_t *b = &p->b;
    int64_t now = (int64_t)time(NULL);
    bool active = !t->revoked_at && (!t->expires_at || t->expires_at > now);
    if (!tl->n++)
        buf_append_str(b, "<table id=\"tokens\"><tr><th>Label</th><th>Created</th><th>Expires</th>"
                          "<th>Last used</th><th></th></tr>");
    buf_printf(b, "<tr id=\"token-%lld\"><td class=\"label\">", (long long)t->id);
    page_text(p, t->label[0] ? t->label : "(no label)");
    buf_append_str(b, "</td><td>");
    page_time(p, t->created_at);
    buf_append_str(b, "</td><td>");
    if (t->expires_at)
        page_time(p, t->expires_at);
    else
        buf_append_str(b, "never");
    buf_append_str(b, "</td><td>");
    page_time(p, t->last_used);
    buf_append_str(b, "</td><td>");
    if (active) {
        buf_append_str(b, "<form class=\"inline\" method=\"post\" action=\"/tokens\">");
        page_csrf_field(p);
        buf_printf(b, "<input type=\"hidden\" name=\"revoke\" value=\"%lld\">"
                      "<button type=\"submit\" class=\"revoke\">Revoke</button></form>",
                   (long long)t->id);
    } else {
        buf_append_str(b, t->revoked_at ? "<span class=\"muted\">revoked</span>"
                                        : "<span class=\"muted\">expired</span>");
    }
    buf_append_str(b, "</td></tr>");
    return 0;
}

/* new_token: shown once, right after it was created; error: what went wrong with a form */
static int tokens_page(page_t *p, int status, const char *new_token, const char *error)
{
    buf_t *b = &p->b;
    buf_reset(b);
    page_head(p, "Your tokens");
    buf_append_str(b, "<main><h1>Your API tokens</h1>");
    if (new_token) {
        buf_append_str(b, "<div class=\"notice\"><p>Your new token. Copy it now: it is shown only "
                          "this once.</p><pre id=\"new-token\">");
        page_text(p, new_token);
        buf_append_str(b, "</pre><p>Use it with <code>bit config set user.token "
                          "&lt;token&gt;</code> or <code>--token</code>.</p></div>");
    }
    if (error) {
        buf_append_str(b, "<p class=\"error\" id=\"error\">");
        page_text(p, error);
        buf_append_str(b, "</p>");
    }
    buf_append_str(b, "<h2>Create a token</h2><form class=\"row\" method=\"post\" "
                      "action=\"/tokens\">");
    page_csrf_field(p);
    buf_append_str(b, "<div class=\"grow\"><label for=\"label\">Label</label>"
                      "<input id=\"label\" name=\"label\" maxlength=\"200\" "
                      "placeholder=\"e.g. laptop, CI\"></div><div><label for=\"days\">Expires "
                      "after (days, empty: never)</label><input id=\"days\" name=\"days\" "
                      "inputmode=\"numeric\" pattern=\"[0-9]*\"></div><div><button "
                      "type=\"submit\" id=\"create\" name=\"create\" value=\"1\">Create"
                      "</button></div></form><h2>Tokens</h2>");
    tokens_t tl = {p, 0};
    index_token_each(app_index(p->r->app), p->r->who.user_id, token_row, &tl);
    buf_append_str(b, tl.n ? "</table>" : "<p class=\"muted\">You have no tokens yet.</p>");
    buf_append_str(b, "</main>");
    page_end(p);
    return page_reply(p, status);
}

int handle_page_tokens(req_t *r)
{
    page_t p;
    page_begin(&p, r);
    if (!p.session[0])
        return page_sign_in_first(&p);
    if (!strcmp(r->method, "GET"))
        return tokens_page(&p, 200, NULL, NULL);
    if (!page_csrf_ok(&p))
        return page_message(&p, 403, "Form expired", "This form is no longer valid. Go back, "
                                                     "reload the page and try again.");
    store_t st = app_store(r->app);
    char revoke[32], label[256], days[16];
    err_t err;
    err_init(&err);
    if (page_form(r, "revoke", revoke, sizeof revoke)) {
        char *end;
        long long id = strtoll(revoke, &end, 10);
        if (*end || id <= 0 || accounts_token_revoke(&st, &r->who, r->address, id, &err) != 0)
            return tokens_page(&p, 400, NULL, err.msg[0] ? err.msg : "no such token");
        return page_redirect(&p, "/tokens");
    }
    page_form(r, "label", label, sizeof label);
    page_form(r, "days", days, sizeof days);
    char *end;
    long long d = days[0] ? strtoll(days, &end, 10) : 0;
    if (days[0] && (*end || d <= 0))
        return tokens_page(&p, 400, NULL, "expiry must be a number of days");
    char text[TOKEN_TEXT_MAX];
    int64_t id;
    if (accounts_token_create(&st, &r->who, r->address, r->who.user, label, d, text, &id, &err) !=
        0)
        return tokens_page(&p, err.kind == ERR_INTERNAL ? 500 : 400, NULL, err.msg);
    int rc = tokens_page(&p, 201, text, NULL);
    sodium_memzero(text, sizeof text);
    return rc;
}

int handle_page_logout(req_t *r)
{
    page_t p;
    page_begin(&p, r);
    /* only this session's own form may end it */
    if (p.session[0] && page_csrf_ok(&p)) {
        session_end(app_index(r->app), p.session);
        auth_audit(app_index(r->app), &r->who, r->address, "session.end", NULL, NULL);
    } else if (p.session[0]) {
        return page_message(&p, 403, "Form expired", "This form is no longer valid. Go back, "
                                                     "reload the page and try again.");
    }
    p.set_cookie[0] = SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict";
    return page_redirect(&p, "/");
}
