#include "auth.h"

#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *const role_names[] = {"", "viewer", "developer", "admin"};

const char *role_name(role_t r)
{
    return r <= ROLE_ADMIN ? role_names[r] : "";
}

role_t role_parse(const char *s)
{
    for (int r = ROLE_VIEWER; r <= ROLE_ADMIN; r++)
        if (s && !strcmp(s, role_names[r]))
            return (role_t)r;
    return ROLE_NONE;
}

/* Argon2id needs 64 MiB per check: two at a time keeps logins from exhausting memory. */
#define PWHASH_CONCURRENCY 2
static sem_t pw_sem;
static pthread_once_t pw_once = PTHREAD_ONCE_INIT;

static void pw_init(void)
{
    sem_init(&pw_sem, 0, PWHASH_CONCURRENCY);
}

static void pw_enter(void)
{
    pthread_once(&pw_once, pw_init);
    while (sem_wait(&pw_sem) != 0)
        ;
}

static void pw_leave(void)
{
    sem_post(&pw_sem);
}

int auth_password_hash(const char *password, char out[256])
{
    pw_enter();
    int rc = crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    pw_leave();
    return rc == 0 ? 0 : -1;
}

bool auth_password_verify(const char *stored, const char *password, bool *rehash)
{
    pw_enter();
    bool ok = crypto_pwhash_str_verify(stored, password, strlen(password)) == 0;
    pw_leave();
    if (rehash)
        *rehash = ok && crypto_pwhash_str_needs_rehash(stored, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
    return ok;
}

void auth_token_hash(const char *text, char hash[BLOB_HEX])
{
    unsigned char d[32];
    crypto_generichash(d, sizeof d, (const unsigned char *)text, strlen(text), NULL, 0);
    hex_encode(d, sizeof d, hash);
}

void auth_token_new(char text[TOKEN_TEXT_MAX], char hash[BLOB_HEX])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(text, "scp_", 4);
    sodium_bin2base64(text + 4, TOKEN_TEXT_MAX - 4, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    auth_token_hash(text, hash);
}

int auth_identify(index_t *ix, const char *authorization, identity_t *who)
{
    memset(who, 0, sizeof *who);
    if (!authorization || !*authorization)
        return 0;
    if (strncmp(authorization, "Bearer ", 7) != 0 || strlen(authorization + 7) >= 256) {
        who->bad_token = true;
        return 0;
    }
    char hash[BLOB_HEX];
    auth_token_hash(authorization + 7, hash);
    token_row_t t;
    int rc = index_token_lookup(ix, hash, &t);
    if (rc < 0)
        return -1;
    int64_t now = (int64_t)time(NULL);
    if (rc == 1 || t.revoked_at || (t.expires_at && t.expires_at <= now)) {
        who->bad_token = true;
        return 0;
    }
    user_row_t u;
    if (index_user_get_id(ix, t.user_id, &u) != 0) {
        who->bad_token = true;
        return 0;
    }
    who->authenticated = true;
    who->user_id = u.id;
    who->token_id = t.id;
    who->is_admin = u.is_admin;
    snprintf(who->user, sizeof who->user, "%s", u.name);
    /* last-used is kept to the minute: a write per request would serialize every reader */
    if (now - t.last_used >= 60)
        index_token_touch(ix, t.id, now);
    return 0;
}

role_t auth_role(index_t *ix, const identity_t *who, int64_t scope_id)
{
    if (!who->authenticated)
        return ROLE_NONE;
    if (who->is_admin)
        return ROLE_ADMIN;
    char role[16];
    if (index_member_role(ix, scope_id, who->user_id, role) != 0)
        return ROLE_NONE;
    return role_parse(role);
}

bool auth_can_read(const scope_row_t *scope, role_t role)
{
    return scope->is_public || role >= ROLE_VIEWER;
}

bool auth_can_write(role_t role)
{
    return role >= ROLE_DEVELOPER;
}

static char dummy_hash[256];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_init(void)
{
    if (auth_password_hash("no such user", dummy_hash) != 0)
        dummy_hash[0] = 0;
}

int auth_login(index_t *ix, const char *user, const char *password, identity_t *who)
{
    memset(who, 0, sizeof *who);
    user_row_t u;
    int rc = index_user_get(ix, user, &u);
    if (rc < 0)
        return -1;
    if (rc == 1 || !u.password[0]) {
        /* an unknown user costs the same time as a wrong password */
        pthread_once(&dummy_once, dummy_init);
        auth_password_verify(dummy_hash, password, NULL);
        return 1;
    }
    bool rehash = false;
    if (!auth_password_verify(u.password, password, &rehash))
        return 1;
    if (rehash) {
        char fresh[256];
        if (auth_password_hash(password, fresh) == 0)
            index_user_set_password(ix, u.id, fresh);
    }
    who->authenticated = true;
    who->user_id = u.id;
    who->is_admin = u.is_admin;
    snprintf(who->user, sizeof who->user, "%s", u.name);
    return 0;
}

int auth_token_issue(index_t *ix, int64_t user_id, const char *label, int64_t expires_days,
                     char text[TOKEN_TEXT_MAX], int64_t *id)
{
    char hash[BLOB_HEX];
    auth_token_new(text, hash);
    int64_t now = (int64_t)time(NULL);
    return index_token_create(ix, user_id, label ? label : "", hash, now,
                              expires_days > 0 ? now + expires_days * 86400 : 0, id);
}

void auth_audit(index_t *ix, const identity_t *who, const char *address, const char *action,
                const char *scope, const char *detail)
{
    const char *actor = who && who->authenticated ? who->user : "anonymous";
    if (index_audit_add(ix, (int64_t)time(NULL), actor, address ? address : "", action, scope,
                        detail) != 0)
        log_warn("msg=\"audit record lost\" action=%s", action);
}
