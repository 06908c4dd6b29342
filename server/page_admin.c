/* Administration pages: /admin for server admins (create a scope, see every scope) and
 * /scopes/<scope>/members for a scope's admins (add, change, remove members). The domain rules
 * are those of the admin API (common/accounts.c); a scope the visitor may not administer answers
 * as one that does not exist. */
#include <string.h>

#include "accounts.h"
#include "model.h"
#include "page.h"

static const char form_expired[] = "This form is no longer valid. Go back, reload the page and "
                                   "try again.";

static void error_line(page_t *p, const char *error)
{
    if (!error)
        return;
    buf_append_str(&p->b, "<p class=\"error\" id=\"error\">");
    page_text(p, error);
    buf_append_str(&p->b, "</p>");
}

static int admin_scope_row(void *ctx, const scope_row_t *s)
{
    page_t *p = ctx;
    int64_t n = 0, last = 0;
    index_scope_summary(app_index(p->r->app), s->id, &n, &last);
    buf_append_str(&p->b, "<tr><td><a href=\"/");
    url_encode(&p->b, s->name);
    buf_append_str(&p->b, "\">");
    page_text(p, s->name);
    buf_printf(&p->b, "</a></td><td>%s</td><td>%lld</td><td><a href=\"/scopes/",
               s->is_public ? "public" : "private", (long long)n);
    url_encode(&p->b, s->name);
    buf_append_str(&p->b, "/members\">members</a></td></tr>");
    return 0;
}

static int admin_page(page_t *p, int status, const char *error)
{
    buf_t *b = &p->b;
    buf_reset(b);
    page_head(p, "Administration");
    buf_append_str(b, "<main><h1>Administration</h1>");
    error_line(p, error);
    buf_append_str(b, "<h2>Create a scope</h2><form class=\"row\" method=\"post\" "
                      "action=\"/admin/scopes\">");
    page_csrf_field(p);
    buf_append_str(b, "<div class=\"grow\"><label for=\"scope\">Name (a-z 0-9 $ - _ ! and at most "
                      "one dot, e.g. myorg.design)</label><input id=\"scope\" name=\"name\" "
                      "required maxlength=\"200\"></div><div><label><input type=\"checkbox\" "
                      "id=\"public\" name=\"public\" value=\"1\"> public (anyone may read)</label>"
                      "</div><div><button type=\"submit\" id=\"create-scope\">Create</button></div>"
                      "</form><h2>Scopes</h2><table id=\"all-scopes\"><tr><th>Scope</th>"
                      "<th>Visibility</th><th>Components</th><th></th></tr>");
    index_scope_each(app_index(p->r->app), admin_scope_row, p);
    buf_append_str(b, "</table></main>");
    page_end(p);
    return page_reply(p, status);
}

int handle_page_admin(req_t *r)
{
    page_t p;
    page_begin(&p, r);
    if (!p.session[0])
        return page_sign_in_first(&p);
    if (!r->who.is_admin)
        return page_message(&p, 403, "Not allowed", "Only server admins may see this page.");
    if (!strcmp(r->method, "GET"))
        return admin_page(&p, 200, NULL);
    if (!page_csrf_ok(&p))
        return page_message(&p, 403, "Form expired", form_expired);
    char name[NAME_MAX_LEN], pub[8];
    page_form(r, "name", name, sizeof name);
    bool is_public = page_form(r, "public", pub, sizeof pub) && !strcmp(pub, "1");
    store_t st = app_store(r->app);
    err_t err;
    err_init(&err);
    if (accounts_scope_create(&st, &r->who, r->address, name, is_public, &err) != 0)
        return admin_page(&p, err.kind == ERR_INTERNAL ? 500 : 400, err.msg);
    buf_t loc;
    buf_init(&loc);
    buf_append_str(&loc, "/");
    url_encode(&loc, name);
    int rc = page_redirect(&p, buf_cstr(&loc));
    buf_free(&loc);
    return rc;
}

typedef struct {
    page_t *p;
    const char *scope;
    int n;
} members_t;

static void role_select(page_t *p, const char *id, const char *current)
{
    static const char *const roles[] = {"viewer", "developer", "admin"};
    buf_append_str(&p->b, "<select name=\"role\" aria-label=\"role\"");
    if (id)
        buf_printf(&p->b, " id=\"%s\"", id);
    buf_append_str(&p->b, ">");
    for (int i = 0; i < 3; i++)
        buf_printf(&p->b, "<option%s>%s</option>",
                   current && !strcmp(current, roles[i]) ? " selected" : "", roles[i]);
    buf_append_str(&p->b, "</select>");
}

static void members_action(page_t *p, const char *scope)
{
    buf_append_str(&p->b, "<form class=\"inline\" method=\"post\" action=\"/scopes/");
    url_encode(&p->b, scope);
    buf_append_str(&p->b, "/members\">");
    page_csrf_field(p);
}

static int member_row(void *ctx, const char *user, const char *role)
{
    members_t *m = ctx;
    page_t *p = m->p;
    if (!m->n++)
        buf_append_str(&p->b, "<table id=\"member-list\"><tr><th>User</th><th>Role</th><th></th>"
                              "</tr>");
    buf_append_str(&p->b, "<tr><td class=\"member\">");
    page_text(p, user);
    buf_append_str(&p->b, "</td><td>");
    members_action(p, m->scope);
    buf_append_str(&p->b, "<input type=\"hidden\" name=\"user\" value=\"");
    page_text(p, user);
    buf_append_str(&p->b, "\">");
    role_select(p, NULL, role);
    buf_append_str(&p->b, " <button type=\"submit\">Change</button></form></td><td>");
    members_action(p, m->scope);
    buf_append_str(&p->b, "<input type=\"hidden\" name=\"user\" value=\"");
    page_text(p, user);
    buf_append_str(&p->b, "\"><input type=\"hidden\" name=\"role\" value=\"none\"><button "
                          "type=\"submit\" class=\"remove\">Remove</button></form></td></tr>");
    return 0;
}

static int members_page(page_t *p, const scope_row_t *s, int status, const char *error)
{
    buf_t *b = &p->b;
    buf_reset(b);
    page_head(p, s->name);
    buf_append_str(b, "<main><p class=\"muted\"><a href=\"/");
    url_encode(b, s->name);
    buf_append_str(b, "\">");
    page_text(p, s->name);
    buf_append_str(b, "</a></p><h1>Members of ");
    page_text(p, s->name);
    buf_append_str(b, "</h1>");
    error_line(p, error);
    buf_append_str(b, "<p class=\"muted\">Viewers import; developers also export; admins also "
                      "manage members. Server admins may do everything everywhere.</p>");
    members_t m = {p, s->name, 0};
    index_member_each(app_index(p->r->app), s->id, member_row, &m);
    buf_append_str(b, m.n ? "</table>" : "<p class=\"muted\">No members yet.</p>");
    buf_append_str(b, "<h2>Add a member</h2><form class=\"row\" method=\"post\" action=\"/scopes/");
    url_encode(b, s->name);
    buf_append_str(b, "/members\">");
    page_csrf_field(p);
    buf_append_str(b, "<div class=\"grow\"><label for=\"member-user\">User</label><input "
                      "id=\"member-user\" name=\"user\" required maxlength=\"64\"></div><div>"
                      "<label for=\"member-role\">Role</label>");
    role_select(p, "member-role", "developer");
    buf_append_str(b, "</div><div><button type=\"submit\" id=\"add-member\">Add</button></div>"
                      "</form></main>");
    page_end(p);
    return page_reply(p, status);
}

int handle_page_members(req_t *r)
{
    page_t p;
    page_begin(&p, r);
    /* /scopes/<scope>/members */
    const char *rest = r->path + strlen("/scopes/");
    const char *slash = strchr(rest, '/');
    char scope[NAME_MAX_LEN];
    size_t n = slash ? (size_t)(slash - rest) : 0;
    if (!slash || n >= sizeof scope || strcmp(slash, "/members") != 0)
        return page_not_found(&p);
    memcpy(scope, rest, n);
    scope[n] = 0;
    if (!p.session[0])
        return page_sign_in_first(&p);
    index_t *ix = app_index(r->app);
    scope_row_t s;
    int rc = scope_name_valid(scope) ? index_scope_get(ix, scope, &s) : 1;
    if (rc < 0) {
        err_set(&r->err, ERR_INTERNAL, "cannot read scopes");
        return reply_error(r, &r->err);
    }
    if (rc == 1 || auth_role(ix, &r->who, s.id) < ROLE_ADMIN)
        return page_not_found(&p);
    if (!strcmp(r->method, "GET"))
        return members_page(&p, &s, 200, NULL);
    if (!page_csrf_ok(&p))
        return page_message(&p, 403, "Form expired", form_expired);
    char user[NAME_MAX_LEN], role[16];
    page_form(r, "user", user, sizeof user);
    page_form(r, "role", role, sizeof role);
    store_t st = app_store(r->app);
    err_t err;
    err_init(&err);
    if (accounts_member_set(&st, &r->who, r->address, s.name, user, role, &err) != 0)
        return members_page(&p, &s, err.kind == ERR_INTERNAL ? 500 : 400, err.msg);
    buf_t loc;
    buf_init(&loc);
    buf_append_str(&loc, "/scopes/");
    url_encode(&loc, s.name);
    buf_append_str(&loc, "/members");
    rc = page_redirect(&p, buf_cstr(&loc));
    buf_free(&loc);
    return rc;
}
