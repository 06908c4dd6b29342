/* Accounts: Argon2id passwords, API tokens (shown once, stored as BLAKE2b-256), and who may
 * read or write a scope. */
#ifndef SCOPED_AUTH_H
#define SCOPED_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "index.h"

typedef enum { ROLE_NONE = 0, ROLE_VIEWER, ROLE_DEVELOPER, ROLE_ADMIN } role_t;

const char *role_name(role_t r);
role_t role_parse(const char *s); /* ROLE_NONE when not a role */

typedef struct {
    bool authenticated;
    bool bad_token; /* a token was presented and is not valid */
    int64_t user_id;
    int64_t token_id;
    char user[NAME_MAX_LEN];
    bool is_admin;
} identity_t;

#define TOKEN_TEXT_MAX 64

/* Hashes a password with Argon2id; out gets crypto_pwhash_str's string. At most a few run at
 * once, whoever asks: each takes 64 MiB. */
int auth_password_hash(const char *password, char out[256]);
/* true when the password matches; *rehash when the stored hash uses old parameters. */
bool auth_password_verify(const char *stored, const char *password, bool *rehash);

/* A new token: 32 random bytes as text, and the hash that is stored. */
void auth_token_new(char text[TOKEN_TEXT_MAX], char hash[BLOB_HEX]);
void auth_token_hash(const char *text, char hash[BLOB_HEX]);

/* Reads "Authorization: Bearer <token>" (header may be NULL: anonymous). */
int auth_identify(index_t *ix, const char *authorization, identity_t *who);

/* The caller's role in a scope: server admins are admins everywhere. */
role_t auth_role(index_t *ix, const identity_t *who, int64_t scope_id);
bool auth_can_read(const scope_row_t *scope, role_t role);
bool auth_can_write(role_t role);

/* Verifies username and password; fills who. 1 when they do not match. */
int auth_login(index_t *ix, const char *user, const char *password, identity_t *who);

/* Creates a token for a user; text is shown once. */
int auth_token_issue(index_t *ix, int64_t user_id, const char *label, int64_t expires_days,
                     char text[TOKEN_TEXT_MAX], int64_t *id);

/* A one-line audit record: who did what, when, from where. */
void auth_audit(index_t *ix, const identity_t *who, const char *address, const char *action,
                const char *scope, const char *detail);

#endif
