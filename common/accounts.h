/* Account administration shared by the command line and the admin API: users, tokens,
 * scopes and members, each change audited. */
#ifndef SCOPED_ACCOUNTS_H
#define SCOPED_ACCOUNTS_H

#include "auth.h"
#include "store.h"

bool user_name_valid(const char *s);

/* password may be NULL: a user that signs in with tokens only */
int accounts_user_add(store_t *st, const identity_t *actor, const char *address, const char *name,
                      const char *password, bool is_admin, err_t *err);
int accounts_token_create(store_t *st, const identity_t *actor, const char *address,
                          const char *user, const char *label, int64_t expires_days,
                          char text[TOKEN_TEXT_MAX], int64_t *id, err_t *err);
/* actor may revoke their own tokens; admins any */
int accounts_token_revoke(store_t *st, const identity_t *actor, const char *address, int64_t id,
                          err_t *err);
int accounts_member_set(store_t *st, const identity_t *actor, const char *address,
                        const char *scope, const char *user, const char *role, err_t *err);
int accounts_scope_create(store_t *st, const identity_t *actor, const char *address,
                          const char *name, bool is_public, err_t *err);
/* The identity the command line acts as: the local operator, a server admin. */
identity_t accounts_operator(void);

#endif
