/* The admin API under /api/v1/: users, tokens, scopes, members and the audit log for server
 * admins, and each user's own tokens. JSON in, JSON out, Bit's error shape on failure. */
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "app.h"

static const char *tail(req_t *r, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(r->path, prefix, n) == 0 ? r->path + n : NULL;
}

static int need_user(req_t *r)
{
    if (r->who.authenticated)
        return 0;
    return err_set(&r->err, ERR_UNAUTHORIZED, "a valid token is required");
}

static int need_admin(req_t *r)
{
    if (need_user(r))
        return -1;
    return r->who.is_admin ? 0 : err_set(&r->err, ERR_FORBIDDEN, "only server admins may do that");
}

static json_t *time_json(int64_t t)
{
    return t ? json_integer(t) : json_null();
}

int handle_api_me(req_t *r)
{
    if (need_user(r))
        return reply_error(r, &r->err);
    return reply_json(r, 200, json_pack("{s:s, s:b}", "username", r->who.user, "admin",
                                        (int)r->who.is_admin));
}

static int user_json(void *ctx, const user_row_t *u)
{
    json_array_append_new(ctx, json_pack("{s:s, s:b, s:I, s:b}", "username", u->name, "admin",
                                         (int)u->is_admin, "created", (json_int_t)u->created_at,
                                         "password", (int)(u->password[0] != 0)));
    return 0;
}

int handle_api_users(req_t *r)
{
    if (need_admin(r))
        return reply_error(r, &r->err);
    store_t st = app_store(r->app);
    if (!strcmp(r->method, "GET")) {
        json_t *list = json_array();
        if (index_user_each(st.ix, user_json, list) != 0) {
            json_decref(list);
            err_set(&r->err, ERR_INTERNAL, "cannot list users");
            return reply_error(r, &r->err);
        }
        return reply_json(r, 200, json_pack("{s:o}", "users", list));
    }
    json_t *body = req_json(r);
    if (!body)
        return reply_error(r, &r->err);
    const char *name = json_string_value(json_object_get(body, "username"));
    const char *password = json_string_value(json_object_get(body, "password"));
    bool admin = json_is_true(json_object_get(body, "admin"));
    int rc = name ? accounts_user_add(&st, &r->who, r->address, name, password, admin, &r->err)
                  : err_set(&r->err, ERR_BAD_REQUEST, "a user needs a \"username\"");
    json_t *reply = rc == 0 ? json_pack("{s:s, s:b}", "username", name, "admin", (int)admin) : NULL;
    json_decref(body);
    return rc == 0 ? reply_json(r, 201, reply) : reply_error(r, &r->err);
}

static int token_json(void *ctx, const token_row_t *t)
{
    json_array_append_new(ctx, json_pack("{s:I, s:s, s:s, s:I, s:o, s:o, s:b}", "id",
                                         (json_int_t)t->id, "username", t->user, "label", t->label,
                                         "created", (json_int_t)t->created_at, "expires",
                                         time_json(t->expires_at), "lastUsed",
                                         time_json(t->last_used), "revoked",
                                         (int)(t->revoked_at != 0)));
    return 0;
}

int handle_api_tokens(req_t *r)
{
    if (need_user(r))
        return reply_error(r, &r->err);
    store_t st = app_store(r->app);
    const char *rest = tail(r, "/api/v1/tokens/");
    if (!strcmp(r->method, "DELETE")) {
        char *end;
        long long id = rest ? strtoll(rest, &end, 10) : 0;
        if (!rest || *end || id <= 0)
            err_set(&r->err, ERR_NO_ROUTE, "DELETE /api/v1/tokens/<id>");
        else
            accounts_token_revoke(&st, &r->who, r->address, id, &r->err);
        if (r->err.kind != ERR_NONE)
            return reply_error(r, &r->err);
        return reply_json(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "revoked", 1));
    }
    if (!strcmp(r->method, "GET")) {
        /* everyone sees their own tokens; an admin may ask for anyone's, or all */
        int64_t uid = r->who.user_id;
        const char *who = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "user");
        if (who && r->who.is_admin) {
            user_row_t u;
            uid = !strcmp(who, "*") ? 0 : index_user_get(st.ix, who, &u) == 0 ? u.id : -1;
        }
        json_t *list = json_array();
        if (uid >= 0)
            index_token_each(st.ix, uid, token_json, list);
        return reply_json(r, 200, json_pack("{s:o}", "tokens", list));
    }
    json_t *body = req_json(r);
    if (!body)
        return reply_error(r, &r->err);
    const char *user = json_string_value(json_object_get(body, "username"));
    const char *label = json_string_value(json_object_get(body, "label"));
    json_t *exp = json_object_get(body, "expiresDays");
    int64_t days = json_is_integer(exp) ? json_integer_value(exp) : 0;
    char text[TOKEN_TEXT_MAX];
    int64_t id = 0;
    int rc = (exp && !json_is_integer(exp)) || days < 0
                 ? err_set(&r->err, ERR_BAD_REQUEST, "expiresDays must be a positive integer")
                 : accounts_token_create(&st, &r->who, r->address, user ? user : r->who.user,
                                         label ? label : "", days, text, &id, &r->err);
    json_decref(body);
    if (rc != 0)
        return reply_error(r, &r->err);
    int out = reply_json(r, 201, json_pack("{s:I, s:s}", "id", (json_int_t)id, "token", text));
    sodium_memzero(text, sizeof text);
    return out;
}

typedef struct {
    req_t *r;
    json_t *list;
} scopes_ctx_t;

static int scope_json(void *ctx, const scope_row_t *s)
{
    scopes_ctx_t *c = ctx;
    role_t role = auth_role(app_index(c->r->app), &c->r->who, s->id);
    if (!auth_can_read(s, role))
        return 0; /* a private scope is invisible to those who may not read it */
    int64_t n = 0;
    index_component_count(app_index(c->r->app), s->id, &n);
    json_array_append_new(c->list, json_pack("{s:s, s:b, s:I, s:s}", "name", s->name, "public",
                                             (int)s->is_public, "components", (json_int_t)n, "role",
                                             role_name(role)));
    return 0;
}

static int member_json(void *ctx, const char *user, const char *role)
{
    json_array_append_new(ctx, json_pack("{s:s, s:s}", "username", user, "role", role));
    return 0;
}

/* /api/v1/scopes/<scope>/members[/<user>] */
static int scope_members(req_t *r, store_t *st, const char *rest)
{
    char scope[NAME_MAX_LEN];
    const char *slash = strchr(rest, '/');
    size_t sl = slash ? (size_t)(slash - rest) : 0;
    if (!slash || sl >= sizeof scope || strncmp(slash, "/members", 8) != 0 ||
        (slash[8] && slash[8] != '/')) {
        err_set(&r->err, ERR_NO_ROUTE, "no route for %s %s", r->method, r->path);
        return reply_error(r, &r->err);
    }
    memcpy(scope, rest, sl);
    scope[sl] = 0;
    const char *user = slash[8] ? slash + 9 : NULL;
    if (!strcmp(r->method, "GET") && !user) {
        scope_row_t s;
        int found = index_scope_get(st->ix, scope, &s);
        if (found != 0 || auth_role(st->ix, &r->who, s.id) < ROLE_ADMIN) {
            err_set(&r->err, ERR_FORBIDDEN, "only the scope's admins may see its members");
            return reply_error(r, &r->err);
        }
        json_t *list = json_array();
        index_member_each(st->ix, s.id, member_json, list);
        return reply_json(r, 200, json_pack("{s:s, s:o}", "scope", scope, "members", list));
    }
    if (!strcmp(r->method, "DELETE") && user) {
        if (accounts_member_set(st, &r->who, r->address, scope, user, "none", &r->err) != 0)
            return reply_error(r, &r->err);
        return reply_json(r, 200, json_pack("{s:s, s:s}", "username", user, "role", "none"));
    }
    if (!strcmp(r->method, "POST") && !user) {
        json_t *body = req_json(r);
        if (!body)
            return reply_error(r, &r->err);
        const char *u = json_string_value(json_object_get(body, "username"));
        const char *role = json_string_value(json_object_get(body, "role"));
        int rc = u && role ? accounts_member_set(st, &r->who, r->address, scope, u, role, &r->err)
                           : err_set(&r->err, ERR_BAD_REQUEST, "a member needs username and role");
        json_t *reply = rc == 0 ? json_pack("{s:s, s:s}", "username", u, "role", role) : NULL;
        json_decref(body);
        return rc == 0 ? reply_json(r, 200, reply) : reply_error(r, &r->err);
    }
    err_set(&r->err, ERR_METHOD, "method %s not allowed on %s", r->method, r->path);
    return reply_error(r, &r->err);
}

int handle_api_scopes(req_t *r)
{
    store_t st = app_store(r->app);
    const char *rest = tail(r, "/api/v1/scopes/");
    if (rest) {
        if (need_user(r))
            return reply_error(r, &r->err);
        return scope_members(r, &st, rest);
    }
    if (!strcmp(r->method, "GET")) {
        scopes_ctx_t c = {r, json_array()};
        index_scope_each(st.ix, scope_json, &c);
        return reply_json(r, 200, json_pack("{s:o}", "scopes", c.list));
    }
    if (need_admin(r))
        return reply_error(r, &r->err);
    json_t *body = req_json(r);
    if (!body)
        return reply_error(r, &r->err);
    const char *name = json_string_value(json_object_get(body, "name"));
    bool pub = json_is_true(json_object_get(body, "public"));
    int rc = name ? accounts_scope_create(&st, &r->who, r->address, name, pub, &r->err)
                  : err_set(&r->err, ERR_BAD_REQUEST, "a scope needs a \"name\"");
    json_t *reply = rc == 0 ? json_pack("{s:s, s:b}", "name", name, "public", (int)pub) : NULL;
    json_decref(body);
    return rc == 0 ? reply_json(r, 201, reply) : reply_error(r, &r->err);
}

static int audit_json(void *ctx, const audit_row_t *a)
{
    json_array_append_new(ctx, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "at", (json_int_t)a->at,
                                         "actor", a->actor, "address", a->address, "action",
                                         a->action, "scope", a->scope, "detail", a->detail));
    return 0;
}

int handle_api_audit(req_t *r)
{
    if (need_admin(r))
        return reply_error(r, &r->err);
    const char *lim = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "limit");
    long long n = lim ? strtoll(lim, NULL, 10) : 100;
    json_t *list = json_array();
    index_audit_each(app_index(r->app), n > 0 && n <= 10000 ? n : 100, audit_json, list);
    return reply_json(r, 200, json_pack("{s:o}", "audit", list));
}
