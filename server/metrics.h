/* Counters of the running daemon for GET /metrics: lock-free atomics bumped once per request
 * and connection, rendered in Prometheus' text format with the gauges the caller reads. */
#ifndef SCOPED_METRICS_H
#define SCOPED_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "gc.h"

/* What a request was, for the duration histograms. */
typedef enum { STEP_NONE, STEP_UPLOAD, STEP_VALIDATE, STEP_PERSIST, STEP_FETCH } metrics_step_t;

#define METRICS_MAX_ROUTES 64

void metrics_start(void);
/* route: the index in the routing table, or -1 when none matched. status 0: no reply. */
void metrics_request_begin(void);
void metrics_request_end(int route, int status, uint64_t bytes_in, uint64_t bytes_out,
                         double seconds, metrics_step_t step);
/* Requests begun and not yet completed: what a clean stop waits for. */
long metrics_in_flight(void);
void metrics_connection(int delta);
/* A fetch or GraphQL request answered from the reply cache (hit) or not. */
void metrics_reply_cache(bool hit);
void metrics_gc(const gc_stats_t *s, bool ok);
/* result: 0 done, 1 busy, -1 error */
void metrics_checkpoint(int result);

typedef struct {
    const char *method, *path; /* one per route of the routing table */
} metrics_route_t;

typedef struct {
    int64_t scopes, objects, pending_exports;
    int64_t blobs, blob_bytes; /* -1: unknown */
    int64_t wal_bytes;
    bool index_ok;
    uint64_t reply_cache_bytes, reply_cache_entries, worker_queue;
} metrics_gauges_t;

void metrics_render(buf_t *out, const metrics_route_t *routes, size_t nroutes,
                    const metrics_gauges_t *g);

#endif
