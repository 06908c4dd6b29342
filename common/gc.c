#include "gc.h"

#include <time.h>

#include "log.h"

typedef struct {
    store_t *st;
    int64_t stale_before;
    gc_stats_t *stats;
    err_t *err;
} gc_walk_t;

static int gc_blob(void *ctx, const char *name, int64_t mtime)
{
    gc_walk_t *g = ctx;
    g->stats->blobs_seen++;
    if (mtime >= g->stale_before)
        return 0;
    /* each question is its own read of the latest committed state: a row committed after it
     * names a blob an upload re-used, which refreshed its mtime first */
    int rc = index_blob_referenced(g->st->ix, name);
    if (rc < 0)
        return err_set(g->err, ERR_INTERNAL, "index read failed: %s", index_errmsg(g->st->ix)), 1;
    if (rc == 0)
        return 0;
    uint64_t size = 0;
    blob_size(g->st->bs, name, &size);
    rc = blob_remove_if_stale(g->st->bs, name, g->stale_before);
    if (rc < 0)
        log_warn("msg=\"gc cannot remove blob\" blob=%s", name);
    if (rc == 0) {
        g->stats->blobs_deleted++;
        g->stats->bytes_freed += size;
    }
    return 0;
}

int gc_run(store_t *st, uint64_t grace_s, uint64_t pending_expiry_s, gc_stats_t *stats,
           err_t *err)
{
    *stats = (gc_stats_t){0};
    int64_t now = (int64_t)time(NULL);
    if (index_begin(st->ix) != 0)
        return err_set(err, ERR_INTERNAL, "index busy: %s", index_errmsg(st->ix));
    if (index_pending_expire(st->ix, now - (int64_t)pending_expiry_s, &stats->pending_expired) != 0 ||
        index_commit(st->ix) != 0) {
        index_rollback(st->ix);
        return err_set(err, ERR_INTERNAL, "cannot expire pending exports: %s",
                       index_errmsg(st->ix));
    }
    gc_walk_t g = {st, now - (int64_t)grace_s, stats, err};
    /* inline blobs: one statement, in the same transaction as the question whether anything
     * names them, so no upload can be naming one at that moment */
    int64_t inline_n = 0, inline_bytes = 0;
    uint64_t deleted = 0, freed = 0;
    if (index_begin(st->ix) != 0)
        return err_set(err, ERR_INTERNAL, "index busy: %s", index_errmsg(st->ix));
    index_quiet(st->ix);
    if (index_blob_data_stats(st->ix, &inline_n, &inline_bytes) != 0 ||
        index_blob_data_gc(st->ix, g.stale_before, &deleted, &freed) != 0 ||
        index_commit(st->ix) != 0) {
        index_rollback(st->ix);
        return err_set(err, ERR_INTERNAL, "cannot collect inline blobs: %s", index_errmsg(st->ix));
    }
    stats->blobs_seen += (uint64_t)inline_n;
    stats->blobs_deleted += deleted;
    stats->bytes_freed += freed;
    int rc = blob_each(st->bs, gc_blob, &g);
    if (rc != 0)
        return err->kind != ERR_NONE ? -1 : err_set(err, ERR_INTERNAL, "cannot list the blob store");
    if (blob_tmp_clean(st->bs, g.stale_before, &stats->tmp_removed) != 0)
        return err_set(err, ERR_INTERNAL, "cannot clean the blob store's tmp directory");
    return 0;
}
