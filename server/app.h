/* The daemon's shared state, and what a handler gets for one request. */
#ifndef SCOPED_APP_H
#define SCOPED_APP_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "auth.h"
#include "blob.h"
#include "cache.h"
#include "buf.h"
#include "config.h"
#include "error.h"
#include "export.h"
#include "index.h"
#include "ratelimit.h"
#include "store.h"
#include "worker.h"

typedef struct {
    config_t cfg;
    char index_path[4200];
    blobstore_t *bs;
    pthread_key_t ix_key;
    struct MHD_Daemon *daemon;
    struct conn_registry *conns; /* every open connection (server/conn.c) */
    worker_pool_t *workers;      /* run the handlers that block (server/worker.c) */
    reply_cache_t *replies;      /* fetch and GraphQL replies (server/cache.c) */
    atomic_ulong requests;
    ratelimit_t *login_failures;
    pthread_t maint_thread;
    pthread_mutex_t maint_lock;
    pthread_cond_t maint_cond;
    bool maint_stop;
    bool checkpoint_wanted; /* a commit grew the WAL past 1000 pages */
} app_t;

/* Opens the data directory: blob store, index, migrations. */
int app_open(app_t *app, err_t *err);
void app_close(app_t *app);
/* The index connection of the calling thread, opened on first use. */
index_t *app_index(app_t *app);
store_t app_store(app_t *app);
int app_maintenance_start(app_t *app);
void app_maintenance_stop(app_t *app);

typedef struct req req_t;
typedef int (*handler_fn)(req_t *r);

typedef enum { BODY_NONE, BODY_BUFFERED, BODY_STREAM } body_kind_t;

/* How a handler runs: on a worker thread unless R_INLINE (cheap, never blocks); R_CACHED
 * replies may be kept in the reply cache and answered from it. */
enum { R_INLINE = 1, R_CACHED = 2 };

typedef struct {
    const char *method;
    bool scoped;         /* under /<scope>/ */
    const char *path;    /* the rest of the path; a trailing '*' matches any rest */
    body_kind_t body;
    bool write;          /* needs a role that may export */
    handler_fn handle;   /* runs when the body is complete */
    unsigned flags;
} route_t;

struct req {
    app_t *app;
    struct MHD_Connection *conn;
    const route_t *route;
    char method[16];
    char path[1024];
    uint64_t line_bytes;   /* of the request line, counted with the headers */
    scope_row_t scope;
    identity_t who;
    role_t role;           /* the caller's role in scope */
    char address[64];      /* the client's address */
    bool modern;            /* x-client-version present */
    char request_id[40];
    buf_t body;
    export_upload_t *upload;
    err_t err;
    bool responded;
    bool close_after;      /* the reply ends the connection */
    uint64_t retry_after; /* seconds, for 429 replies */
    bool failed; /* an error found while reading the body, replied to at its end */
    /* a handler on a worker thread leaves its reply here, and the connection is resumed */
    bool in_worker, resumed;
    struct MHD_Response *resp;
    /* R_CACHED routes: the key of this request, the content epoch its handler read, and
     * whether its reply may be kept (the handler says so) */
    bool keyed, cache_it;
    cache_key_t key;
    uint64_t epoch;
    uint64_t failed_at;
    int status;
    uint64_t bytes_in, bytes_out;
    struct timespec start;
};

/* Replies; each returns MHD_YES/MHD_NO for the access handler. */
int reply_json(req_t *r, int status, json_t *body); /* steals body */
int reply_error(req_t *r, const err_t *e);
int reply_text(req_t *r, int status, const char *type, const char *text);
int reply_response(req_t *r, int status, struct MHD_Response *resp);

const char *req_header(req_t *r, const char *name);
/* Parses the JSON body, bounded in depth; sets r->err on failure. */
json_t *req_json(req_t *r);

int route_put_begin(req_t *r);
/* 0, or -1 with r->err set */
int route_put_data(req_t *r, const char *data, size_t len);
int handle_put(req_t *r);
int handle_fetch(req_t *r);
int handle_action(req_t *r);
int handle_delete(req_t *r);
int handle_graphql(req_t *r);
int handle_healthz(req_t *r);
int handle_api_login(req_t *r);
int handle_bit_login_page(req_t *r);
int handle_bit_login_post(req_t *r);
int handle_bit_login_done(req_t *r);
int handle_api_me(req_t *r);
int handle_api_users(req_t *r);
int handle_api_tokens(req_t *r);
int handle_api_scopes(req_t *r);
int handle_api_audit(req_t *r);
int handle_metrics(req_t *r);
int handle_pages(req_t *r);
int handle_page_tokens(req_t *r);
int handle_page_logout(req_t *r);
int handle_page_admin(req_t *r);
int handle_page_members(req_t *r);

int http_serve(app_t *app, const char *listen);
/* The routing table, for /metrics' labels. */
const route_t *http_routes(size_t *n);
/* The index and the blob directory are usable (/healthz, the systemd watchdog). */
bool http_healthy(app_t *app);

#endif
