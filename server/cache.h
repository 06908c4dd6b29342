/* Replies kept in memory: fetch tars and GraphQL answers, keyed by what was asked (route, scope,
 * client generation, body bytes) and valid for one content epoch of the index (index.h). A hit
 * is queued as it is: no index, no disk, no JSON. Access is decided before the cache is asked. */
#ifndef SCOPED_CACHE_H
#define SCOPED_CACHE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct reply_cache reply_cache_t;

typedef struct {
    unsigned char b[32];
} cache_key_t;

/* max_bytes 0: a cache that keeps nothing. */
reply_cache_t *reply_cache_new(uint64_t max_bytes);
void reply_cache_free(reply_cache_t *c);

void cache_key_make(cache_key_t *key, const char *route, int64_t scope_id, bool modern,
                    const void *body, size_t len);

/* Queues the reply kept for key on conn: MHD_YES/MHD_NO as MHD_queue_response says, or -1 when
 * there is none for the current epoch. *status and *bytes describe what was queued. */
int reply_cache_queue(reply_cache_t *c, const cache_key_t *key, struct MHD_Connection *conn,
                      int *status, uint64_t *bytes);

/* Keeps a reply computed from the index as it was at epoch, unless the content moved on
 * meanwhile or it is larger than an eighth of the cache. True: the cache took over the caller's
 * reference to resp (queue it before handing it over); false: the caller still owns it. */
bool reply_cache_put(reply_cache_t *c, const cache_key_t *key, uint64_t epoch, int status,
                     struct MHD_Response *resp, uint64_t bytes);
/* Drops the replies nobody asked for in idle_s seconds, and those of an older epoch: memory
 * goes back when the clients do. */
void reply_cache_expire(reply_cache_t *c, uint64_t idle_s);
void reply_cache_stats(reply_cache_t *c, uint64_t *bytes, uint64_t *entries);
/* Whether a reply is worth keeping: true when its key was asked for before (recently, as far
 * as a table of 65,536 traces remembers), false the first time. */
bool reply_cache_admit(reply_cache_t *c, const cache_key_t *key);
/* Largest reply worth building in memory to keep. */
uint64_t reply_cache_max_entry(const reply_cache_t *c);

#endif
