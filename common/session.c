#include "session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "hash.h"

void session_nonce(char text[SESSION_TEXT_MAX])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(text, "scs_", 4);
    sodium_bin2base64(text + 4, SESSION_TEXT_MAX - 4, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

/* A cookie value is ours only if it has our shape: anything else never reaches the index. */
static bool session_text_valid(const char *text)
{
    size_t n = text ? strlen(text) : 0;
    if (n < 40 || n >= SESSION_TEXT_MAX || strncmp(text, "scs_", 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++) {
        char c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

int session_create(index_t *ix, const identity_t *who, uint64_t lifetime_s,
                   char text[SESSION_TEXT_MAX])
{
    char hash[BLOB_HEX];
    session_nonce(text);
    auth_token_hash(text, hash);
    int64_t now = (int64_t)time(NULL);
    return index_session_create(ix, who->user_id, hash, now, now + (int64_t)lifetime_s) == 0 ? 0
                                                                                           : -1;
}

int session_identify(index_t *ix, const char *text, identity_t *who)
{
    memset(who, 0, sizeof *who);
    if (!session_text_valid(text))
        return 0;
    char hash[BLOB_HEX];
    auth_token_hash(text, hash);
    int64_t user_id, expires_at;
    int rc = index_session_lookup(ix, hash, &user_id, &expires_at);
    if (rc < 0)
        return -1;
    user_row_t u;
    if (rc == 1 || expires_at <= (int64_t)time(NULL) || index_user_get_id(ix, user_id, &u) != 0)
        return 0;
    who->authenticated = true;
    who->user_id = u.id;
    who->is_admin = u.is_admin;
    snprintf(who->user, sizeof who->user, "%s", u.name);
    return 0;
}

int session_end(index_t *ix, const char *text)
{
    if (!session_text_valid(text))
        return 0;
    char hash[BLOB_HEX];
    auth_token_hash(text, hash);
    return index_session_delete(ix, hash) < 0 ? -1 : 0;
}

void session_csrf(const char *text, const char *purpose, char out[CSRF_TEXT_MAX])
{
    /* keyed by the secret: the token says nothing about the secret, and differs per purpose */
    unsigned char d[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, (const unsigned char *)text, strlen(text) < 64 ? strlen(text) : 64,
                            sizeof d);
    crypto_generichash_update(&st, (const unsigned char *)purpose, strlen(purpose));
    crypto_generichash_final(&st, d, sizeof d);
    hex_encode(d, sizeof d, out);
}

bool session_csrf_ok(const char *text, const char *purpose, const char *given)
{
    if (!session_text_valid(text) || !given || strlen(given) != CSRF_TEXT_MAX - 1)
        return false;
    char want[CSRF_TEXT_MAX];
    session_csrf(text, purpose, want);
    return sodium_memcmp(want, given, CSRF_TEXT_MAX - 1) == 0;
}
