#include "accounts.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "model.h"

bool user_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

identity_t accounts_operator(void)
{
    identity_t who = {.authenticated = true, .is_admin = true};
    snprintf(who.user, sizeof who.user, "operator");
    return who;
}

static int need_admin(const identity_t *actor, err_t *err)
{
    if (!actor->authenticated)
        return err_set(err, ERR_UNAUTHORIZED, "sign in first");
    if (!actor->is_admin)
        return err_set(err, ERR_FORBIDDEN, "only server admins may do that");
    return 0;
}

int accounts_user_add(store_t *st, const identity_t *actor, const char *address, const char *name,
                      const char *password, bool is_admin, err_t *err)
{
    if (need_admin(actor, err))
        return -1;
    if (!user_name_valid(name))
        return err_set(err, ERR_BAD_REQUEST,
                       "invalid user name \"%.64s\": 1 to 64 of A-Z a-z 0-9 . _ -", name);
    char hash[256] = "";
    if (password) {
        if (strlen(password) < 8 || strlen(password) > 1024)
            return err_set(err, ERR_BAD_REQUEST, "a password needs 8 to 1024 characters");
        if (auth_password_hash(password, hash) != 0)
            return err_set(err, ERR_INTERNAL, "cannot hash the password");
    }
    int rc = index_user_create(st->ix, name, password ? hash : NULL, is_admin, (int64_t)time(NULL),
                               NULL);
    if (rc == 1)
        return err_set(err, ERR_BAD_REQUEST, "user %s exists already", name);
    if (rc != 0)
        return err_set(err, ERR_INTERNAL, "cannot create the user");
    auth_audit(st->ix, actor, address, is_admin ? "user.add.admin" : "user.add", NULL, name);
    return 0;
}

int accounts_token_create(store_t *st, const identity_t *actor, const char *address,
                          const char *user, const char *label, int64_t expires_days,
                          char text[TOKEN_TEXT_MAX], int64_t *id, err_t *err)
{
    if (!actor->authenticated)
        return err_set(err, ERR_UNAUTHORIZED, "sign in first");
    if (strcmp(user, actor->user) != 0 && !actor->is_admin)
        return err_set(err, ERR_FORBIDDEN, "only server admins may create tokens for others");
    if (expires_days < 0 || expires_days > 36500)
        return err_set(err, ERR_BAD_REQUEST, "expiry must be 1 to 36500 days");
    if (label && strlen(label) > 200)
        return err_set(err, ERR_BAD_REQUEST, "a token label has at most 200 characters");
    user_row_t u;
    int rc = index_user_get(st->ix, user, &u);
    if (rc == 1)
        return err_set(err, ERR_BAD_REQUEST, "no user %.64s", user);
    if (rc != 0 || auth_token_issue(st->ix, u.id, label, expires_days, text, id) != 0)
        return err_set(err, ERR_INTERNAL, "cannot create the token");
    char detail[320];
    snprintf(detail, sizeof detail, "id=%lld user=%s", (long long)*id, user);
    auth_audit(st->ix, actor, address, "token.create", NULL, detail);
    return 0;
}

int accounts_token_revoke(store_t *st, const identity_t *actor, const char *address, int64_t id,
                          err_t *err)
{
    if (!actor->authenticated)
        return err_set(err, ERR_UNAUTHORIZED, "sign in first");
    token_row_t t;
    int rc = index_token_get(st->ix, id, &t);
    /* someone else's token reads as absent: ids reveal nothing */
    if (rc == 1 || (rc == 0 && t.user_id != actor->user_id && !actor->is_admin))
        return err_set(err, ERR_BAD_REQUEST, "no token with id %lld", (long long)id);
    if (rc != 0)
        return err_set(err, ERR_INTERNAL, "cannot read tokens");
    rc = index_token_revoke(st->ix, id, (int64_t)time(NULL));
    if (rc == 1)
        return err_set(err, ERR_BAD_REQUEST, "token %lld is revoked already", (long long)id);
    if (rc != 0)
        return err_set(err, ERR_INTERNAL, "cannot revoke the token");
    char detail[320];
    snprintf(detail, sizeof detail, "id=%lld user=%s", (long long)id, t.user);
    auth_audit(st->ix, actor, address, "token.revoke", NULL, detail);
    return 0;
}

int accounts_member_set(store_t *st, const identity_t *actor, const char *address,
                        const char *scope, const char *user, const char *role, err_t *err)
{
    scope_row_t s;
    int rc = index_scope_get(st->ix, scope, &s);
    if (rc < 0)
        return err_set(err, ERR_INTERNAL, "cannot read scopes");
    role_t mine = rc == 0 ? auth_role(st->ix, actor, s.id) : ROLE_NONE;
    if (!actor->authenticated)
        return err_set(err, ERR_UNAUTHORIZED, "sign in first");
    if (rc == 1 || mine < ROLE_ADMIN) {
        /* a scope the actor may not administer looks the same whether it exists or not */
        if (rc == 1 && actor->is_admin)
            return err_set(err, ERR_BAD_REQUEST, "no scope %.200s", scope);
        return err_set(err, ERR_FORBIDDEN, "only the scope's admins may change its members");
    }
    bool remove = !strcmp(role, "none");
    if (!remove && role_parse(role) == ROLE_NONE)
        return err_set(err, ERR_BAD_REQUEST, "role must be admin, developer or viewer");
    user_row_t u;
    rc = index_user_get(st->ix, user, &u);
    if (rc == 1)
        return err_set(err, ERR_BAD_REQUEST, "no user %.64s", user);
    if (rc != 0)
        return err_set(err, ERR_INTERNAL, "cannot read users");
    rc = remove ? index_member_delete(st->ix, s.id, u.id) : index_member_set(st->ix, s.id, u.id, role);
    if (rc < 0)
        return err_set(err, ERR_INTERNAL, "cannot change members");
    char detail[360];
    snprintf(detail, sizeof detail, "user=%s role=%s", user, role);
    auth_audit(st->ix, actor, address, "member.set", scope, detail);
    return 0;
}

int accounts_scope_create(store_t *st, const identity_t *actor, const char *address,
                          const char *name, bool is_public, err_t *err)
{
    if (need_admin(actor, err))
        return -1;
    int rc = store_scope_create(st, name, is_public, err);
    if (rc == 1)
        return err_set(err, ERR_BAD_REQUEST, "scope %s exists already", name);
    if (rc != 0)
        return -1;
    auth_audit(st->ix, actor, address, is_public ? "scope.create.public" : "scope.create", name,
               NULL);
    return 0;
}
