#include "access.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

#include "model.h"

#define ENTRIES 64
#define LIFETIME_MS 5000

typedef struct {
    unsigned char key[16];
    bool used;
    int64_t data_version;
    uint64_t epoch;
    int64_t until_ms;
    identity_t who;
    int found;
    scope_row_t row;
    role_t role;
} entry_t;

static _Thread_local entry_t entries[ENTRIES];
/* PRAGMA data_version costs a read transaction (two fcntl locks): asked at most once a
 * millisecond per thread. It only has to see other processes (`scoped token revoke`); commits
 * in this process move the content epoch, which is checked on every lookup. */
#define DATA_VERSION_EVERY_MS 1
static _Thread_local int64_t data_version = -1, data_version_at;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fill(index_t *ix, const char *authorization, const char *scope, entry_t *e)
{
    if (auth_identify(ix, authorization, &e->who) != 0)
        return -1;
    e->found = 1;
    e->role = ROLE_NONE;
    if (!*scope)
        return 0;
    e->found = scope_name_valid(scope) ? index_scope_get(ix, scope, &e->row) : 1;
    if (e->found < 0)
        return -1;
    if (e->found == 0)
        e->role = auth_role(ix, &e->who, e->row.id);
    return 0;
}

int access_lookup(index_t *ix, const char *authorization, const char *scope, identity_t *who,
                  int *found, scope_row_t *row, role_t *role)
{
    crypto_generichash_state st;
    unsigned char key[16];
    const char *a = authorization ? authorization : "";
    crypto_generichash_init(&st, NULL, 0, sizeof key);
    crypto_generichash_update(&st, (const unsigned char *)a, strlen(a) + 1);
    crypto_generichash_update(&st, (const unsigned char *)scope, strlen(scope));
    crypto_generichash_final(&st, key, sizeof key);
    entry_t *e = &entries[key[0] % ENTRIES];
    /* both read before the lookups: a commit landing during them shows at the next request */
    uint64_t epoch = index_content_epoch();
    int64_t now = now_ms();
    if (data_version < 0 || now - data_version_at >= DATA_VERSION_EVERY_MS) {
        data_version = index_data_version(ix);
        data_version_at = now;
    }
    bool hit = e->used && !memcmp(e->key, key, sizeof key) && data_version >= 0 &&
               e->data_version == data_version && e->epoch == epoch && now < e->until_ms;
    if (!hit) {
        e->used = false;
        if (fill(ix, authorization, scope, e) != 0)
            return -1;
        memcpy(e->key, key, sizeof key);
        e->data_version = data_version;
        e->epoch = epoch;
        e->until_ms = now + LIFETIME_MS;
        e->used = data_version >= 0;
    }
    *who = e->who;
    *found = e->found;
    if (e->found == 0)
        *row = e->row;
    *role = e->role;
    return 0;
}
