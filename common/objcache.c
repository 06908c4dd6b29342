#include "objcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKETS 4096

typedef struct entry {
    char blob[BLOB_HEX];
    json_t *json;
    size_t weight;
    time_t at;
    struct entry *hnext;       /* bucket chain */
    struct entry *older, *newer; /* age order */
} entry_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry_t *buckets[BUCKETS];
static entry_t *oldest, *newest;
static size_t total;

static unsigned bucket_of(const char *blob)
{
    unsigned h = 0;
    for (int i = 0; i < 8 && blob[i]; i++)
        h = h * 16 + (unsigned)(blob[i] <= '9' ? blob[i] - '0' : blob[i] - 'a' + 10);
    return h % BUCKETS;
}

/* Unlinks e from both lists; the caller frees it. */
static void unlink_entry(entry_t *e)
{
    entry_t **pp = &buckets[bucket_of(e->blob)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->older)
        e->older->newer = e->newer;
    else
        oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        newest = e->older;
    total -= e->weight;
}

/* Takes the entries to drop off the lists; they are freed outside the lock. */
static entry_t *evict(size_t room, time_t before, entry_t *dropped)
{
    while (oldest && (total + room > OBJCACHE_BUDGET || oldest->at < before)) {
        entry_t *e = oldest;
        unlink_entry(e);
        e->hnext = dropped;
        dropped = e;
    }
    return dropped;
}

static void free_entries(entry_t *e)
{
    while (e) {
        entry_t *next = e->hnext;
        json_decref(e->json);
        free(e);
        e = next;
    }
}

void objcache_put(const char *blob, json_t *json, size_t weight)
{
    if (!json)
        return;
    entry_t *e = weight <= OBJCACHE_BUDGET / 4 ? calloc(1, sizeof *e) : NULL;
    if (!e) {
        json_decref(json);
        return;
    }
    snprintf(e->blob, sizeof e->blob, "%s", blob);
    e->json = json;
    e->weight = weight;
    e->at = time(NULL);
    pthread_mutex_lock(&lock);
    entry_t *dropped = evict(weight, e->at - OBJCACHE_TTL, NULL);
    unsigned b = bucket_of(blob);
    for (entry_t *x = buckets[b]; x; x = x->hnext) {
        if (!strcmp(x->blob, blob)) { /* kept already (the same bytes twice) */
            pthread_mutex_unlock(&lock);
            free_entries(dropped);
            json_decref(json);
            free(e);
            return;
        }
    }
    e->hnext = buckets[b];
    buckets[b] = e;
    e->older = newest;
    if (newest)
        newest->newer = e;
    else
        oldest = e;
    newest = e;
    total += weight;
    pthread_mutex_unlock(&lock);
    free_entries(dropped);
}

json_t *objcache_take(const char *blob)
{
    pthread_mutex_lock(&lock);
    entry_t *e = buckets[bucket_of(blob)];
    while (e && strcmp(e->blob, blob) != 0)
        e = e->hnext;
    if (e)
        unlink_entry(e);
    pthread_mutex_unlock(&lock);
    if (!e)
        return NULL;
    json_t *json = e->json;
    free(e);
    return json;
}

void objcache_expire(int all)
{
    pthread_mutex_lock(&lock);
    entry_t *dropped = evict(all ? OBJCACHE_BUDGET + 1 : 0, time(NULL) - OBJCACHE_TTL, NULL);
    pthread_mutex_unlock(&lock);
    free_entries(dropped);
}

static _Thread_local bool defer_on;
static _Thread_local json_t **deferred;
static _Thread_local size_t ndeferred, capdeferred;

void objcache_defer_on(void)
{
    defer_on = true;
}

void objcache_release(json_t *json)
{
    if (!json)
        return;
    if (defer_on && ndeferred == capdeferred) {
        size_t cap = capdeferred ? capdeferred * 2 : 1024;
        json_t **p = realloc(deferred, cap * sizeof *p);
        if (p) {
            deferred = p;
            capdeferred = cap;
        }
    }
    if (!defer_on || ndeferred == capdeferred) {
        json_decref(json);
        return;
    }
    deferred[ndeferred++] = json;
}

void objcache_defer_run(void)
{
    for (size_t i = 0; i < ndeferred; i++)
        json_decref(deferred[i]);
    free(deferred);
    deferred = NULL;
    ndeferred = capdeferred = 0;
}
