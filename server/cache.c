#include "cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index.h"

typedef struct entry {
    cache_key_t key;
    int status;
    uint64_t bytes;
    int64_t used; /* CLOCK_MONOTONIC seconds of the last hit */
    struct MHD_Response *resp;
    struct entry *chain;            /* next in the bucket */
    struct entry *newer, *older;    /* recency list */
} entry_t;

struct reply_cache {
    pthread_mutex_t lock;
    uint64_t epoch; /* of every entry: one of another epoch is never answered again */
    uint64_t max_bytes, bytes;
    entry_t **buckets;
    size_t nbuckets; /* a power of two */
    size_t n;
    entry_t *newest, *oldest;
    /* the doorkeeper: a trace of keys asked once, so that only a second asking builds a reply
     * to keep (most fetches of a large scope are asked once and would only churn the cache) */
    _Atomic uint64_t *seen;
};

#define SEEN_SLOTS 65536

reply_cache_t *reply_cache_new(uint64_t max_bytes)
{
    reply_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max_bytes = max_bytes;
    c->nbuckets = 4096;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    c->seen = max_bytes ? calloc(SEEN_SLOTS, sizeof *c->seen) : NULL;
    if (!c->buckets || (max_bytes && !c->seen)) {
        free(c->buckets);
        free(c->seen);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static entry_t **slot_of(reply_cache_t *c, const cache_key_t *key)
{
    uint64_t h;
    memcpy(&h, key->b, sizeof h);
    entry_t **p = &c->buckets[h & (c->nbuckets - 1)];
    while (*p && memcmp((*p)->key.b, key->b, sizeof key->b) != 0)
        p = &(*p)->chain;
    return p;
}

static void unlink_recency(reply_cache_t *c, entry_t *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void push_newest(reply_cache_t *c, entry_t *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest)
        c->newest->newer = e;
    c->newest = e;
    if (!c->oldest)
        c->oldest = e;
}

/* A connection still sending resp keeps it alive: MHD counts references. */
static void drop(reply_cache_t *c, entry_t **slot)
{
    entry_t *e = *slot;
    *slot = e->chain;
    unlink_recency(c, e);
    c->bytes -= e->bytes;
    c->n--;
    MHD_destroy_response(e->resp);
    free(e);
}

static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

/* The content moved on: nothing kept can be answered any more, so none of it stays in memory. */
static void catch_up(reply_cache_t *c, uint64_t epoch)
{
    if (c->epoch == epoch)
        return;
    while (c->oldest)
        drop(c, slot_of(c, &c->oldest->key));
    c->epoch = epoch;
}

void reply_cache_free(reply_cache_t *c)
{
    if (!c)
        return;
    while (c->oldest)
        drop(c, slot_of(c, &c->oldest->key));
    free(c->buckets);
    free(c->seen);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

bool reply_cache_admit(reply_cache_t *c, const cache_key_t *key)
{
    if (!c->seen)
        return false;
    uint64_t h, slot;
    memcpy(&h, key->b + 8, sizeof h);
    memcpy(&slot, key->b, sizeof slot);
    h |= 1; /* 0 marks an empty slot */
    _Atomic uint64_t *s = &c->seen[slot % SEEN_SLOTS];
    if (atomic_load_explicit(s, memory_order_relaxed) == h)
        return true;
    atomic_store_explicit(s, h, memory_order_relaxed);
    return false;
}

void cache_key_make(cache_key_t *key, const char *route, int64_t scope_id, bool modern,
                    const void *body, size_t len)
{
    crypto_generichash_state st;
    unsigned char head[16];
    memcpy(head, &scope_id, sizeof scope_id);
    memset(head + 8, 0, 8);
    head[8] = modern ? 1 : 0;
    crypto_generichash_init(&st, NULL, 0, sizeof key->b);
    crypto_generichash_update(&st, (const unsigned char *)route, strlen(route) + 1);
    crypto_generichash_update(&st, head, sizeof head);
    crypto_generichash_update(&st, body, len);
    crypto_generichash_final(&st, key->b, sizeof key->b);
}

uint64_t reply_cache_max_entry(const reply_cache_t *c)
{
    return c ? c->max_bytes / 8 : 0;
}

int reply_cache_queue(reply_cache_t *c, const cache_key_t *key, struct MHD_Connection *conn,
                      int *status, uint64_t *bytes)
{
    if (!c || !c->max_bytes)
        return -1;
    uint64_t epoch = index_content_epoch();
    pthread_mutex_lock(&c->lock);
    catch_up(c, epoch);
    entry_t *e = *slot_of(c, key);
    int rc = -1;
    if (e) {
        unlink_recency(c, e);
        push_newest(c, e);
        e->used = mono_s();
        *status = e->status;
        *bytes = e->bytes;
        /* under the lock: an eviction now cannot free resp before MHD holds it */
        rc = MHD_queue_response(conn, (unsigned)e->status, e->resp) == MHD_YES ? MHD_YES : MHD_NO;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

bool reply_cache_put(reply_cache_t *c, const cache_key_t *key, uint64_t epoch, int status,
                     struct MHD_Response *resp, uint64_t bytes)
{
    if (!c || bytes > reply_cache_max_entry(c))
        return false;
    entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return false;
    e->key = *key;
    e->used = mono_s();
    e->status = status;
    e->bytes = bytes;
    e->resp = resp;
    pthread_mutex_lock(&c->lock);
    catch_up(c, index_content_epoch());
    /* computed from an index that has changed since: not worth keeping */
    if (epoch != c->epoch) {
        pthread_mutex_unlock(&c->lock);
        free(e);
        return false;
    }
    entry_t **slot = slot_of(c, key);
    if (*slot)
        drop(c, slot);
    while (c->oldest && c->bytes + bytes > c->max_bytes)
        drop(c, slot_of(c, &c->oldest->key));
    slot = slot_of(c, key); /* the chain may have changed */
    *slot = e;
    push_newest(c, e);
    c->bytes += bytes;
    c->n++;
    pthread_mutex_unlock(&c->lock);
    return true;
}

void reply_cache_stats(reply_cache_t *c, uint64_t *bytes, uint64_t *entries)
{
    *bytes = *entries = 0;
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    *bytes = c->bytes;
    *entries = c->n;
    pthread_mutex_unlock(&c->lock);
}

void reply_cache_expire(reply_cache_t *c, uint64_t idle_s)
{
    if (!c || !idle_s)
        return;
    int64_t before = mono_s() - (int64_t)idle_s;
    pthread_mutex_lock(&c->lock);
    catch_up(c, index_content_epoch());
    while (c->oldest && c->oldest->used < before)
        drop(c, slot_of(c, &c->oldest->key));
    pthread_mutex_unlock(&c->lock);
}
