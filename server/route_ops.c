/* GET /healthz and GET /metrics. */
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "app.h"
#include "metrics.h"

int handle_healthz(req_t *r)
{
    if (!http_healthy(r->app))
        return reply_json(r, 503, json_pack("{s:s}", "status", "unavailable"));
    return reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* Gauges that cost a query or a walk of the blob store are cached: a scrape every few seconds
 * must not walk a million files each time. */
#define INDEX_GAUGES_TTL 10
#define BLOB_GAUGES_TTL 60

static pthread_mutex_t gauge_lock = PTHREAD_MUTEX_INITIALIZER;
static metrics_gauges_t cached = {.blobs = -1, .blob_bytes = -1};
static time_t index_read_at, blobs_read_at;

typedef struct {
    blobstore_t *bs;
    int64_t n, bytes;
} blob_count_t;

static int count_blob(void *ctx, const char *name, int64_t mtime)
{
    (void)mtime;
    blob_count_t *c = ctx;
    uint64_t size;
    c->n++;
    if (blob_size(c->bs, name, &size) == 0)
        c->bytes += (int64_t)size;
    return 0;
}

static void read_gauges(app_t *app, metrics_gauges_t *g)
{
    time_t now = time(NULL);
    pthread_mutex_lock(&gauge_lock);
    if (now - index_read_at >= INDEX_GAUGES_TTL) {
        index_t *ix = app_index(app);
        cached.index_ok = ix && index_scope_count_all(ix, &cached.scopes) == 0 &&
                          index_object_count_all(ix, &cached.objects) == 0 &&
                          index_pending_count(ix, &cached.pending_exports) == 0;
        index_read_at = cached.index_ok ? now : 0;
    }
    if (now - blobs_read_at >= BLOB_GAUGES_TTL) {
        blob_count_t c = {app->bs, 0, 0};
        index_t *ix = app_index(app);
        int64_t inline_n = 0, inline_bytes = 0; /* small blobs are rows of the index */
        bool ok = ix && index_blob_data_stats(ix, &inline_n, &inline_bytes) == 0 &&
                  blob_each(app->bs, count_blob, &c) == 0;
        c.n += inline_n;
        c.bytes += inline_bytes;
        cached.blobs = ok ? c.n : -1;
        cached.blob_bytes = ok ? c.bytes : -1;
        blobs_read_at = ok ? now : 0;
    }
    char wal[4300];
    struct stat st;
    snprintf(wal, sizeof wal, "%s-wal", app->index_path);
    cached.wal_bytes = stat(wal, &st) == 0 ? (int64_t)st.st_size : 0;
    *g = cached;
    pthread_mutex_unlock(&gauge_lock);
    reply_cache_stats(app->replies, &g->reply_cache_bytes, &g->reply_cache_entries);
    g->worker_queue = app->workers ? worker_pool_queued(app->workers) : 0;
}

int handle_metrics(req_t *r)
{
    size_t n;
    const route_t *routes = http_routes(&n);
    metrics_route_t labels[METRICS_MAX_ROUTES];
    char paths[METRICS_MAX_ROUTES][128];
    for (size_t i = 0; i < n && i < METRICS_MAX_ROUTES; i++) {
        snprintf(paths[i], sizeof paths[i], "%s%s", routes[i].scoped ? "/{scope}/" : "",
                 routes[i].path);
        labels[i] = (metrics_route_t){routes[i].method, paths[i]};
    }
    metrics_gauges_t g;
    read_gauges(r->app, &g);
    buf_t out;
    buf_init(&out);
    metrics_render(&out, labels, n < METRICS_MAX_ROUTES ? n : METRICS_MAX_ROUTES, &g);
    int rc = reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", buf_cstr(&out));
    buf_free(&out);
    return rc;
}
