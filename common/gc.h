/* Garbage collection: blobs that no object or pending object row names, and pending exports
 * past their expiry. Safe while the daemon serves: a blob written or re-used within the grace
 * period is never deleted, so an upload still streaming (whose rows are recorded only when its
 * body ends) keeps its blobs. */
#ifndef SCOPED_GC_H
#define SCOPED_GC_H

#include <stdint.h>

#include "store.h"

typedef struct {
    int64_t pending_expired;
    uint64_t blobs_seen;
    uint64_t blobs_deleted;
    uint64_t bytes_freed;
    uint64_t tmp_removed; /* temp files of uploads that died */
} gc_stats_t;

int gc_run(store_t *st, uint64_t grace_s, uint64_t pending_expiry_s, gc_stats_t *stats,
           err_t *err);

#endif
