#include "metrics.h"

#include <stdatomic.h>
#include <time.h>

/* Statuses counted one by one; any other counts as "other". 0 is a request that got no reply
 * (the client went away first). */
static const int statuses[] = {0,   200, 201, 204, 301, 302, 303, 304, 400, 401,
                               403, 404, 405, 409, 413, 429, 500, 503};
#define NSTATUS (sizeof statuses / sizeof statuses[0])

static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                 2.5,   5,    10,   30,   60,  120, 300};
#define NBUCKET (sizeof buckets / sizeof buckets[0])

typedef struct {
    atomic_ullong count[NBUCKET + 1]; /* per bucket, not cumulative; the last is +Inf */
    atomic_ullong sum_us;
} histogram_t;

static const char *const step_names[] = {
    [STEP_UPLOAD] = "upload", [STEP_VALIDATE] = "validate", [STEP_PERSIST] = "persist"};

static struct {
    atomic_ullong requests[METRICS_MAX_ROUTES + 1][NSTATUS + 1];
    atomic_ullong bytes_in, bytes_out;
    atomic_long in_flight, connections;
    atomic_ullong cache_hits, cache_misses;
    histogram_t export_steps[STEP_PERSIST + 1];
    histogram_t fetch;
    atomic_ullong gc_runs_ok, gc_runs_failed, gc_blobs_deleted, gc_bytes_freed,
        gc_pending_expired;
    atomic_llong gc_last_success;
    atomic_ullong checkpoints[3]; /* done, busy, error */
    atomic_llong started;
} m;

static void observe(histogram_t *h, double seconds)
{
    size_t b = 0;
    while (b < NBUCKET && seconds > buckets[b])
        b++;
    atomic_fetch_add_explicit(&h->count[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (unsigned long long)(seconds * 1e6),
                              memory_order_relaxed);
}

void metrics_start(void)
{
    atomic_store(&m.started, (long long)time(NULL));
}

void metrics_request_begin(void)
{
    atomic_fetch_add(&m.in_flight, 1);
}

void metrics_request_end(int route, int status, uint64_t bytes_in, uint64_t bytes_out,
                         double seconds, metrics_step_t step)
{
    size_t r = route >= 0 && route < METRICS_MAX_ROUTES ? (size_t)route : METRICS_MAX_ROUTES;
    size_t s = 0;
    while (s < NSTATUS && statuses[s] != status)
        s++;
    atomic_fetch_add_explicit(&m.requests[r][s], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m.bytes_in, bytes_in, memory_order_relaxed);
    atomic_fetch_add_explicit(&m.bytes_out, bytes_out, memory_order_relaxed);
    if (step == STEP_FETCH)
        observe(&m.fetch, seconds);
    else if (step != STEP_NONE)
        observe(&m.export_steps[step], seconds);
    atomic_fetch_sub(&m.in_flight, 1);
}

long metrics_in_flight(void)
{
    return atomic_load(&m.in_flight);
}

void metrics_reply_cache(bool hit)
{
    atomic_fetch_add_explicit(hit ? &m.cache_hits : &m.cache_misses, 1, memory_order_relaxed);
}

void metrics_connection(int delta)
{
    atomic_fetch_add(&m.connections, delta);
}

void metrics_gc(const gc_stats_t *s, bool ok)
{
    if (!ok) {
        atomic_fetch_add(&m.gc_runs_failed, 1);
        return;
    }
    atomic_fetch_add(&m.gc_runs_ok, 1);
    atomic_fetch_add(&m.gc_blobs_deleted, s->blobs_deleted);
    atomic_fetch_add(&m.gc_bytes_freed, s->bytes_freed);
    atomic_fetch_add(&m.gc_pending_expired, (unsigned long long)s->pending_expired);
    atomic_store(&m.gc_last_success, (long long)time(NULL));
}

void metrics_checkpoint(int result)
{
    atomic_fetch_add(&m.checkpoints[result == 0 ? 0 : result == 1 ? 1 : 2], 1);
}

static void family(buf_t *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void histogram(buf_t *out, const char *name, const char *labels, histogram_t *h)
{
    unsigned long long cum = 0;
    const char *sep = labels[0] ? "," : "";
    for (size_t b = 0; b <= NBUCKET; b++) {
        cum += atomic_load_explicit(&h->count[b], memory_order_relaxed);
        if (b < NBUCKET)
            buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, buckets[b], cum);
        else
            buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, cum);
    }
    const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
    buf_printf(out, "%s_sum%s%s%s %.6f\n", name, open, labels, close,
               (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6);
    buf_printf(out, "%s_count%s%s%s %llu\n", name, open, labels, close, cum);
}

void metrics_render(buf_t *out, const metrics_route_t *routes, size_t nroutes,
                    const metrics_gauges_t *g)
{
    family(out, "scoped_http_requests_total", "counter",
           "HTTP requests completed, by route (the routing table's pattern) and status.");
    for (size_t r = 0; r <= METRICS_MAX_ROUTES; r++) {
        if (r < METRICS_MAX_ROUTES && r >= nroutes)
            continue;
        for (size_t s = 0; s <= NSTATUS; s++) {
            unsigned long long n = atomic_load_explicit(&m.requests[r][s], memory_order_relaxed);
            if (!n)
                continue;
            char status[16];
            if (s == NSTATUS)
                snprintf(status, sizeof status, "other");
            else if (statuses[s] == 0)
                snprintf(status, sizeof status, "none");
            else
                snprintf(status, sizeof status, "%d", statuses[s]);
            if (r == METRICS_MAX_ROUTES)
                buf_printf(out, "scoped_http_requests_total{method=\"other\",route=\"unmatched\","
                                "status=\"%s\"} %llu\n",
                           status, n);
            else
                buf_printf(out, "scoped_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %llu\n",
                           routes[r].method, routes[r].path, status, n);
        }
    }
    family(out, "scoped_http_received_bytes_total", "counter", "Request body bytes received.");
    buf_printf(out, "scoped_http_received_bytes_total %llu\n", atomic_load(&m.bytes_in));
    family(out, "scoped_http_sent_bytes_total", "counter", "Response body bytes sent.");
    buf_printf(out, "scoped_http_sent_bytes_total %llu\n", atomic_load(&m.bytes_out));
    family(out, "scoped_http_requests_in_flight", "gauge", "Requests begun and not completed.");
    buf_printf(out, "scoped_http_requests_in_flight %ld\n", atomic_load(&m.in_flight));
    family(out, "scoped_http_connections_active", "gauge", "Open client connections.");
    buf_printf(out, "scoped_http_connections_active %ld\n", atomic_load(&m.connections));

    family(out, "scoped_reply_cache_requests_total", "counter",
           "Fetch and GraphQL requests answered from the reply cache (hit) or not (miss).");
    buf_printf(out, "scoped_reply_cache_requests_total{result=\"hit\"} %llu\n",
               atomic_load(&m.cache_hits));
    buf_printf(out, "scoped_reply_cache_requests_total{result=\"miss\"} %llu\n",
               atomic_load(&m.cache_misses));
    family(out, "scoped_reply_cache_bytes", "gauge", "Bytes of replies kept in the reply cache.");
    buf_printf(out, "scoped_reply_cache_bytes %llu\n", (unsigned long long)g->reply_cache_bytes);
    family(out, "scoped_reply_cache_entries", "gauge", "Replies kept in the reply cache.");
    buf_printf(out, "scoped_reply_cache_entries %llu\n",
               (unsigned long long)g->reply_cache_entries);
    family(out, "scoped_worker_queue", "gauge", "Requests waiting for a worker thread.");
    buf_printf(out, "scoped_worker_queue %llu\n", (unsigned long long)g->worker_queue);

    family(out, "scoped_export_duration_seconds", "histogram",
           "Duration of the steps of an export: upload (put), validate and persist (actions).");
    for (int s = STEP_UPLOAD; s <= STEP_PERSIST; s++) {
        char labels[32];
        snprintf(labels, sizeof labels, "step=\"%s\"", step_names[s]);
        histogram(out, "scoped_export_duration_seconds", labels, &m.export_steps[s]);
    }
    family(out, "scoped_fetch_duration_seconds", "histogram", "Duration of fetch (import) requests.");
    histogram(out, "scoped_fetch_duration_seconds", "", &m.fetch);

    family(out, "scoped_index_up", "gauge", "1 when the index answered the gauges below.");
    buf_printf(out, "scoped_index_up %d\n", g->index_ok ? 1 : 0);
    if (g->index_ok) {
        family(out, "scoped_scopes", "gauge", "Scopes hosted.");
        buf_printf(out, "scoped_scopes %lld\n", (long long)g->scopes);
        family(out, "scoped_objects_stored", "gauge", "Object rows in the index, all scopes.");
        buf_printf(out, "scoped_objects_stored %lld\n", (long long)g->objects);
        family(out, "scoped_pending_exports", "gauge", "Exports uploaded and not yet persisted.");
        buf_printf(out, "scoped_pending_exports %lld\n", (long long)g->pending_exports);
    }
    if (g->blobs >= 0) {
        family(out, "scoped_blobs_stored", "gauge", "Blob files in the store.");
        buf_printf(out, "scoped_blobs_stored %lld\n", (long long)g->blobs);
        family(out, "scoped_blob_store_bytes", "gauge", "Bytes of the blob files in the store.");
        buf_printf(out, "scoped_blob_store_bytes %lld\n", (long long)g->blob_bytes);
    }
    family(out, "scoped_index_wal_bytes", "gauge", "Size of the index's write-ahead log.");
    buf_printf(out, "scoped_index_wal_bytes %lld\n", (long long)g->wal_bytes);

    family(out, "scoped_gc_runs_total", "counter", "Garbage collections run by the daemon.");
    buf_printf(out, "scoped_gc_runs_total{result=\"ok\"} %llu\n", atomic_load(&m.gc_runs_ok));
    buf_printf(out, "scoped_gc_runs_total{result=\"error\"} %llu\n",
               atomic_load(&m.gc_runs_failed));
    family(out, "scoped_gc_deleted_blobs_total", "counter", "Blobs the daemon's gc deleted.");
    buf_printf(out, "scoped_gc_deleted_blobs_total %llu\n", atomic_load(&m.gc_blobs_deleted));
    family(out, "scoped_gc_freed_bytes_total", "counter", "Bytes the daemon's gc freed.");
    buf_printf(out, "scoped_gc_freed_bytes_total %llu\n", atomic_load(&m.gc_bytes_freed));
    family(out, "scoped_gc_expired_pending_exports_total", "counter",
           "Pending exports the daemon's gc expired.");
    buf_printf(out, "scoped_gc_expired_pending_exports_total %llu\n",
               atomic_load(&m.gc_pending_expired));
    family(out, "scoped_gc_last_success_timestamp_seconds", "gauge",
           "When the daemon's gc last completed (0: never).");
    buf_printf(out, "scoped_gc_last_success_timestamp_seconds %lld\n",
               atomic_load(&m.gc_last_success));
    family(out, "scoped_wal_checkpoints_total", "counter",
           "WAL checkpoints by the daemon: done, or busy (readers in the way; tried again later).");
    static const char *const ck[] = {"done", "busy", "error"};
    for (int i = 0; i < 3; i++)
        buf_printf(out, "scoped_wal_checkpoints_total{result=\"%s\"} %llu\n", ck[i],
                   atomic_load(&m.checkpoints[i]));
    family(out, "scoped_start_time_seconds", "gauge", "When the daemon started (unix time).");
    buf_printf(out, "scoped_start_time_seconds %lld\n", atomic_load(&m.started));
}
