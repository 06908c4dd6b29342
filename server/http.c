/* The HTTP daemon: one routing table, a request context per connection, one log line per request. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "app.h"
#include "access.h"
#include "conn.h"
#include "log.h"
#include "objcache.h"
#include "metrics.h"
#include "model.h"
#include "systemd.h"
#include "request.h"

static const route_t routes[] = {
    {"GET", false, "/healthz", BODY_NONE, false, handle_healthz, R_INLINE},
    {"GET", false, "/metrics", BODY_NONE, false, handle_metrics, 0},
    {"POST", false, "/api/v1/login", BODY_BUFFERED, false, handle_api_login, 0},
    {"GET", false, "/bit-login", BODY_NONE, false, handle_bit_login_page, 0},
    {"POST", false, "/bit-login", BODY_BUFFERED, false, handle_bit_login_post, 0},
    {"GET", false, "/bit-login/done", BODY_NONE, false, handle_bit_login_done, 0},
    {"GET", false, "/api/v1/me", BODY_NONE, false, handle_api_me, 0},
    {"GET", false, "/api/v1/users", BODY_NONE, false, handle_api_users, 0},
    {"POST", false, "/api/v1/users", BODY_BUFFERED, false, handle_api_users, 0},
    {"GET", false, "/api/v1/tokens", BODY_NONE, false, handle_api_tokens, 0},
    {"POST", false, "/api/v1/tokens", BODY_BUFFERED, false, handle_api_tokens, 0},
    {"DELETE", false, "/api/v1/tokens/*", BODY_NONE, false, handle_api_tokens, 0},
    {"GET", false, "/api/v1/scopes", BODY_NONE, false, handle_api_scopes, 0},
    {"POST", false, "/api/v1/scopes", BODY_BUFFERED, false, handle_api_scopes, 0},
    {"GET", false, "/api/v1/scopes/*", BODY_NONE, false, handle_api_scopes, 0},
    {"POST", false, "/api/v1/scopes/*", BODY_BUFFERED, false, handle_api_scopes, 0},
    {"DELETE", false, "/api/v1/scopes/*", BODY_NONE, false, handle_api_scopes, 0},
    {"GET", false, "/api/v1/audit", BODY_NONE, false, handle_api_audit, 0},
    {"POST", true, "graphql", BODY_BUFFERED, false, handle_graphql, R_CACHED},
    {"POST", true, "api/scope/put", BODY_STREAM, true, handle_put, 0},
    {"POST", true, "api/scope/fetch", BODY_BUFFERED, false, handle_fetch, R_CACHED},
    {"POST", true, "api/scope/action", BODY_BUFFERED, true, handle_action, 0},
    {"GET", false, "/tokens", BODY_NONE, false, handle_page_tokens, 0},
    {"POST", false, "/tokens", BODY_BUFFERED, false, handle_page_tokens, 0},
    {"POST", false, "/logout", BODY_BUFFERED, false, handle_page_logout, 0},
    {"GET", false, "/admin", BODY_NONE, false, handle_page_admin, 0},
    {"POST", false, "/admin/scopes", BODY_BUFFERED, false, handle_page_admin, 0},
    {"GET", false, "/scopes/*", BODY_NONE, false, handle_page_members, 0},
    {"POST", false, "/scopes/*", BODY_BUFFERED, false, handle_page_members, 0},
    {"POST", true, "api/scope/delete", BODY_BUFFERED, true, handle_delete, 0},
};

/* A GET no route above takes is a page to browse: /, /<scope>, /<scope>/~/<component>. */
static const route_t page_route = {"GET", false, "/*", BODY_NONE, false, handle_pages, 0};

const route_t *http_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

/* Collapses duplicate slashes and drops a trailing one. */
static void normalize_path(const char *url, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = url; *p && o + 1 < outlen; p++) {
        if (*p == '/' && o > 0 && out[o - 1] == '/')
            continue;
        out[o++] = *p;
    }
    if (o > 1 && out[o - 1] == '/')
        o--;
    out[o] = 0;
}

static bool path_matches(const char *path, const char *pattern)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*')
        return strncmp(path, pattern, n - 1) == 0 && path[n - 1];
    return strcmp(path, pattern) == 0;
}

/* Finds the route; *scope gets the scope segment of scoped routes. 404 or 405 when none. */
static int match_route(req_t *r, char *scope, size_t scopelen, const route_t **out)
{
    bool path_known = false;
    const char *rest = NULL;
    if (r->path[0] == '/') {
        const char *slash = strchr(r->path + 1, '/');
        if (slash && (size_t)(slash - r->path - 1) < scopelen) {
            memcpy(scope, r->path + 1, (size_t)(slash - r->path - 1));
            scope[slash - r->path - 1] = 0;
            rest = slash + 1;
        }
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const route_t *rt = &routes[i];
        bool hit = rt->scoped ? rest && !strcmp(rest, rt->path) : path_matches(r->path, rt->path);
        if (!hit)
            continue;
        path_known = true;
        if (!strcmp(rt->method, r->method)) {
            *out = rt;
            return 0;
        }
    }
    return path_known ? ERR_METHOD : ERR_NO_ROUTE;
}

const char *req_header(req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int reply_response(req_t *r, int status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    if (!r->cache_it) /* a kept reply is queued to many requests */
        MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    if (r->close_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    r->status = status;
    r->responded = true;
    if (r->in_worker) {
        r->resp = resp; /* queued by the connection's own thread once it is resumed */
        return MHD_YES;
    }
    int rc = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

int reply_text(req_t *r, int status, const char *type, const char *text)
{
    size_t len = strlen(text);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    r->bytes_out = len;
    return reply_response(r, status, resp);
}

int reply_json(req_t *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return reply_text(r, 500, "application/json",
                          "{\"message\":\"internal error\",\"error\":{\"code\":132}}");
    size_t len = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    r->bytes_out = len;
    return reply_response(r, status, resp);
}

int reply_error(req_t *r, const err_t *e)
{
    err_t shown = *e;
    if (e->kind == ERR_INTERNAL) {
        /* the client learns nothing internal; the log has the details */
        log_error("msg=\"internal error\" request_id=%s error=\"%s\"", r->request_id, e->msg);
        err_init(&shown);
        err_set(&shown, ERR_INTERNAL, "internal server error (request %s)", r->request_id);
    }
    int status = err_http_status(shown.kind);
    struct MHD_Response *resp;
    json_t *body = err_to_json(&shown);
    /* GraphQL clients print errors[].message; the rest of the body is Bit's shape */
    if (r->route && r->route->handle == handle_graphql)
        json_object_set_new(body, "errors", json_pack("[{s:s}]", "message", shown.msg));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (shown.kind == ERR_RATE_LIMITED) {
        char secs[24];
        snprintf(secs, sizeof secs, "%llu", (unsigned long long)(r->retry_after ? r->retry_after : 1));
        MHD_add_response_header(resp, "Retry-After", secs);
    }
    r->bytes_out = strlen(text);
    return reply_response(r, status, resp);
}

json_t *req_json(req_t *r)
{
    return request_json_parse(r->body.data, r->body.len, r->app->cfg.lim.max_json_depth, &r->err);
}

/* snprintf("%s") without the formatter: these run for every request */
static void copy_str(char *out, size_t len, const char *s)
{
    size_t n = strnlen(s, len - 1);
    memcpy(out, s, n);
    out[n] = 0;
}

static void client_address(req_t *r)
{
    const char *cached = conn_address(conn_of(r->conn));
    if (cached[0]) {
        copy_str(r->address, sizeof r->address, cached);
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    r->address[0] = 0;
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->address,
                  sizeof r->address);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->address,
                  sizeof r->address);
}

/* Connections MHD accepts past our limits, to answer them with a 429 before it drops the rest. */
#define CONN_SLACK 8

/* How much of a refused body is read and dropped so that the client gets the error reply. */
#define DRAIN_AFTER_ERROR (64 * MIB)

static void req_fail(req_t *r)
{
    r->failed = true;
    r->failed_at = r->bytes_in;
}

static uint32_t process_run_id;

static void pick_run_id(void)
{
    process_run_id = randombytes_random();
}

/* Request ids and the access line, built by hand: vsnprintf was a tenth of the CPU of a small
 * request. */
typedef struct {
    char *p, *end;
} line_t;

static void put_str(line_t *l, const char *s)
{
    size_t n = strlen(s), room = (size_t)(l->end - l->p);
    n = n < room ? n : room;
    memcpy(l->p, s, n);
    l->p += n;
}

static void put_u64(line_t *l, unsigned long long v, int width)
{
    char d[20];
    int i = 0;
    do
        d[i++] = (char)('0' + v % 10);
    while ((v /= 10) && i < 20);
    while (i < width && i < 20)
        d[i++] = '0';
    while (i && l->p < l->end)
        *l->p++ = d[--i];
}

/* "%08x-%lu", by hand: it runs for every request */
static void request_id(char *out, size_t len, uint32_t run, unsigned long n)
{
    static const char hex[] = "0123456789abcdef";
    line_t l = {out, out + len - 1};
    for (int i = 0; i < 8 && l.p < l.end; i++)
        *l.p++ = hex[(run >> (28 - 4 * i)) & 15];
    put_str(&l, "-");
    put_u64(&l, n, 1);
    *l.p = 0;
}

static req_t *req_new(app_t *app, struct MHD_Connection *conn, const char *url, const char *method)
{
    req_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->app = app;
    r->conn = conn;
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    copy_str(r->method, sizeof r->method, method);
    normalize_path(url, r->path, sizeof r->path);
    r->line_bytes = strlen(method) + strlen(url) + 12; /* "M URL HTTP/1.1\r\n" */
    buf_init(&r->body);
    err_init(&r->err);
    unsigned long n = atomic_fetch_add(&app->requests, 1) + 1;
    metrics_request_begin();
    /* a per-process random prefix: ids from two runs of the daemon do not collide */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, pick_run_id);
    request_id(r->request_id, sizeof r->request_id, process_run_id, n);
    r->modern = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-client-version") != NULL;
    client_address(r);
    return r;
}

/* Which duration histogram a request belongs to; actions say which step in their body. */
static metrics_step_t request_step(req_t *r)
{
    if (!r->route)
        return STEP_NONE;
    if (r->route->handle == handle_put)
        return STEP_UPLOAD;
    if (r->route->handle == handle_fetch)
        return STEP_FETCH;
    if (r->route->handle != handle_action || !r->body.len)
        return STEP_NONE;
    json_t *body = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
    const char *name = json_string_value(json_object_get(body, "name"));
    metrics_step_t step = !name                          ? STEP_NONE
                          : !strcmp(name, "ExportValidate") ? STEP_VALIDATE
                          : !strcmp(name, "ExportPersist")  ? STEP_PERSIST
                                                            : STEP_NONE;
    json_decref(body);
    return step;
}

static void log_request(const req_t *r, int64_t us, bool completed)
{
    char text[1536];
    line_t l = {text, text + sizeof text};
    put_str(&l, "msg=request method=");
    put_str(&l, r->method);
    put_str(&l, " path=\"");
    put_str(&l, r->path);
    put_str(&l, "\" status=");
    put_u64(&l, (unsigned long long)(r->status > 0 ? r->status : 0), 1);
    put_str(&l, " bytes_in=");
    put_u64(&l, (unsigned long long)r->bytes_in, 1);
    put_str(&l, " bytes_out=");
    put_u64(&l, (unsigned long long)r->bytes_out, 1);
    put_str(&l, " duration_ms=");
    put_u64(&l, (unsigned long long)(us > 0 ? us : 0) / 1000, 1);
    put_str(&l, ".");
    put_u64(&l, (unsigned long long)(us > 0 ? us : 0) % 1000, 3);
    put_str(&l, " user=");
    put_str(&l, r->who.authenticated ? r->who.user : "-");
    put_str(&l, " address=");
    put_str(&l, r->address[0] ? r->address : "-");
    put_str(&l, " request_id=");
    put_str(&l, r->request_id);
    if (!completed)
        put_str(&l, " aborted=1");
    log_text(LOG_INFO, text, (size_t)(l.p - text));
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    req_t *r = *con_cls;
    if (!r)
        return;
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    int64_t us = (int64_t)(end.tv_sec - r->start.tv_sec) * 1000000 +
                 (end.tv_nsec - r->start.tv_nsec) / 1000;
    double ms = (double)us / 1e3;
    if (log_enabled(LOG_INFO))
        log_request(r, us, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    metrics_request_end(r->route ? (int)(r->route - routes) : -1, r->status, r->bytes_in,
                        r->bytes_out, ms / 1e3, request_step(r));
    conn_request_done(conn_of(conn));
    if (r->resp)
        MHD_destroy_response(r->resp);
    export_upload_free(r->upload);
    buf_free(&r->body);
    err_clear(&r->err);
    free(r);
    *con_cls = NULL;
}

/* Who may do what: decided by the route and the token, never by x-verb. Reads of a scope that
 * is absent or unreadable answer alike; writes say only that the caller may not write. */
static int scope_access(req_t *r, int found, const char *scope)
{
    if (r->route->write) {
        if (!r->who.authenticated)
            return err_set(&r->err, ERR_UNAUTHORIZED,
                           "permission to scope %.200s was denied: a valid token is required",
                           scope);
        if (found == 1 || !auth_can_write(r->role))
            return err_set(&r->err, ERR_FORBIDDEN,
                           "permission to scope %.200s was denied: %s may not export to it",
                           scope, r->who.user);
        return 0;
    }
    if (found == 1 || !auth_can_read(&r->scope, r->role)) {
        err_set(&r->err, ERR_SCOPE_NOT_FOUND, "scope \"%.200s\" was not found", scope);
        err_field(&r->err, "name", json_string(scope));
        return -1;
    }
    return 0;
}

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    (void)kind;
    *(uint64_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    return MHD_YES;
}

/* What every request must pass before routing: the connection counts and the header size.
 * MHD's own memory limit sits above max_header_bytes, so these answer in Bit's shape. */
static int connection_limits(req_t *r)
{
    const limits_t *lim = &r->app->cfg.lim;
    if (conn_over_limit(conn_of(r->conn))) {
        r->close_after = true;
        r->retry_after = 1;
        return err_set(&r->err, ERR_RATE_LIMITED,
                       "too many connections (at most %llu in total and %llu from one address)",
                       (unsigned long long)lim->max_connections,
                       (unsigned long long)lim->max_connections_per_ip);
    }
    uint64_t size = r->line_bytes;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_header_size, &size);
    if (size > lim->max_header_bytes) {
        r->close_after = true;
        return err_set(&r->err, ERR_HEADERS_TOO_LARGE,
                       "request headers are larger than %llu bytes",
                       (unsigned long long)lim->max_header_bytes);
    }
    return 0;
}

/* A buffered body announced larger than the limit is refused before any of it is read. */
static int declared_body(req_t *r)
{
    const char *cl = req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t max = r->app->cfg.lim.max_json_body;
    if (r->route->body != BODY_BUFFERED || !cl || strtoull(cl, NULL, 10) <= max)
        return 0;
    r->close_after = true;
    return err_set(&r->err, ERR_TOO_LARGE, "request body is larger than %llu bytes",
                   (unsigned long long)max);
}

static int start_request(req_t *r)
{
    char scope[NAME_MAX_LEN] = "";
    if (connection_limits(r) != 0)
        return reply_error(r, &r->err);
    int rc = match_route(r, scope, sizeof scope, &r->route);
    if (rc == ERR_NO_ROUTE && !strcmp(r->method, "GET")) {
        r->route = &page_route;
        rc = 0;
    }
    if (rc != 0) {
        err_set(&r->err, (err_kind_t)rc, rc == ERR_METHOD ? "method %s not allowed on %s"
                                                          : "no route for %s %s",
                r->method, r->path);
        return reply_error(r, &r->err);
    }
    if (r->route->handle == handle_healthz)
        return MHD_YES; /* it answers for itself, also when the index is gone */
    index_t *ix = app_index(r->app);
    int found = 1;
    if (!ix || access_lookup(ix, req_header(r, "authorization"), r->route->scoped ? scope : "",
                             &r->who, &found, &r->scope, &r->role) != 0) {
        err_set(&r->err, ERR_INTERNAL, "index unavailable");
        return reply_error(r, &r->err);
    }
    if (r->route->scoped && scope_access(r, found, scope) != 0)
        return reply_error(r, &r->err);
    if (declared_body(r) != 0)
        return reply_error(r, &r->err);
    if (r->route->body == BODY_STREAM)
        return route_put_begin(r);
    return MHD_YES;
}

/* On a worker thread: the handler, whose reply the connection's thread queues once resumed. */
static void run_request(void *job, void *ctx)
{
    req_t *r = job;
    (void)ctx;
    objcache_defer_on(); /* a worker: parsed objects are freed after the reply */
    r->in_worker = true;
    r->epoch = index_content_epoch(); /* before the handler reads anything */
    if (r->route->handle(r) != MHD_YES && r->resp) {
        MHD_destroy_response(r->resp);
        r->resp = NULL;
    }
    r->in_worker = false;
    /* an export's merge plan can take tens of MiB for a moment: give them back at once, but
     * after the reply is on its way (r is the connection's from the resume on) */
    bool trim = r->route->write;
    r->resumed = true;
    MHD_resume_connection(r->conn);
    objcache_defer_run();
    if (trim)
        malloc_trim(0);
}

/* A request the stopping pool will not run: its connection is closed. */
static void cancel_request(void *job, void *ctx)
{
    req_t *r = job;
    (void)ctx;
    r->resumed = true;
    MHD_resume_connection(r->conn);
}

/* The body is complete: answer from the reply cache, run cheap handlers here, and hand the
 * rest to a worker while the connection waits suspended. */
static int dispatch(req_t *r)
{
    app_t *app = r->app;
    if (r->route->flags & R_INLINE)
        return r->route->handle(r);
    if ((r->route->flags & R_CACHED) && reply_cache_max_entry(app->replies)) {
        cache_key_make(&r->key, r->route->path, r->scope.id, r->modern, r->body.data, r->body.len);
        int status;
        uint64_t bytes;
        int rc = reply_cache_queue(app->replies, &r->key, r->conn, &status, &bytes);
        metrics_reply_cache(rc >= 0);
        if (rc >= 0) {
            r->status = status;
            r->bytes_out = bytes;
            r->responded = true;
            return rc;
        }
        r->keyed = true;
    }
    MHD_suspend_connection(r->conn);
    if (worker_pool_submit(app->workers, r) != 0) {
        r->in_worker = true;
        err_set(&r->err, ERR_SERVER_BUSY, "the server is stopping or out of memory: try again");
        reply_error(r, &r->err);
        r->in_worker = false;
        r->resumed = true;
        MHD_resume_connection(r->conn);
    }
    return MHD_YES;
}

/* After a worker ran the handler: queue its reply, and keep it when the handler said so. */
static int finish_resumed(req_t *r)
{
    struct MHD_Response *resp = r->resp;
    r->resp = NULL;
    if (!resp)
        return MHD_NO;
    int rc = MHD_queue_response(r->conn, (unsigned)r->status, resp) == MHD_YES ? MHD_YES : MHD_NO;
    if (!(r->cache_it && r->status == 200 &&
          reply_cache_put(r->app->replies, &r->key, r->epoch, r->status, resp, r->bytes_out)))
        MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    req_t *r = *con_cls;
    if (!r) {
        conn_request_started(conn_of(conn));
        r = req_new(cls, conn, url, method);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        return start_request(r) == MHD_YES ? MHD_YES : MHD_NO;
    }
    if (r->resumed) {
        r->resumed = false;
        return finish_resumed(r) == MHD_YES ? MHD_YES : MHD_NO;
    }
    if (r->responded) {
        /* refused before the body was read: MHD closes the connection after the reply */
        r->bytes_in += *upload_data_size;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        r->bytes_in += n;
        *upload_data_size = 0;
        if (r->failed) {
            /* MHD replies only once the body is read: drain a bounded amount, then hang up */
            return r->bytes_in - r->failed_at > DRAIN_AFTER_ERROR ? MHD_NO : MHD_YES;
        }
        if (r->route->body == BODY_STREAM) {
            if (route_put_data(r, upload_data, n) != 0)
                req_fail(r);
        } else if (r->route->body == BODY_BUFFERED) {
            if (r->body.len + n > r->app->cfg.lim.max_json_body) {
                err_set(&r->err, ERR_TOO_LARGE, "request body is larger than %llu bytes",
                        (unsigned long long)r->app->cfg.lim.max_json_body);
                req_fail(r);
            } else if (!buf_append(&r->body, upload_data, n)) {
                return MHD_NO;
            }
        }
        return MHD_YES;
    }
    if (r->failed)
        return reply_error(r, &r->err) == MHD_YES ? MHD_YES : MHD_NO;
    return dispatch(r) == MHD_YES ? MHD_YES : MHD_NO;
}

static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (!strcmp(host, "") || !strcmp(host, "0.0.0.0") || !strcmp(host, "*"))
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (!strcmp(host, "localhost"))
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return -1;
    return 0;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    app_t *app = cls;
    metrics_connection(code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
    conn_notify(app->conns, conn, socket_context, code);
}

/* Whether the daemon can serve: what /healthz answers, and what the watchdog pings mean. */
bool http_healthy(app_t *app)
{
    struct stat st;
    index_t *ix = app_index(app);
    return ix && index_healthy(ix) && stat(app->index_path, &st) == 0 && S_ISREG(st.st_mode) &&
           blob_healthy(app->bs);
}

/* Clean stop: no new connections, the requests in flight (an export's put or persist, a fetch)
 * run to their end for at most shutdown_timeout, then the daemon stops. What an export writes
 * is committed in one transaction, so a request cut short leaves nothing half-written. */
static void drain(app_t *app)
{
    MHD_socket lsock = MHD_quiesce_daemon(app->daemon);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long left;
    while ((left = metrics_in_flight()) > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double waited = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (waited >= (double)app->cfg.shutdown_timeout_s) {
            log_warn("msg=\"shutdown timeout: stopping with requests in flight\" requests=%ld", left);
            break;
        }
        struct timespec tick = {0, 20 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    /* requests still waiting for a worker are closed; running ones finish first */
    worker_pool_stop(app->workers, cancel_request);
    app->workers = NULL;
    MHD_stop_daemon(app->daemon);
    app->daemon = NULL;
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock);
}

/* Each connection holds a socket, and its request may hold a blob and the index open: make
 * sure max_connections can be reached (systemd's default soft limit is 1024 descriptors). */
static void raise_fd_limit(uint64_t connections)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)(connections + CONN_SLACK) * 4 + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        log_warn("msg=\"open file limit below what max_connections needs\" limit=%llu want=%llu",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static void serve_cleanup(app_t *app)
{
    worker_pool_stop(app->workers, NULL);
    app->workers = NULL;
    reply_cache_free(app->replies);
    app->replies = NULL;
    conn_registry_free(app->conns);
    app->conns = NULL;
}

int http_serve(app_t *app, const char *listen)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    int lfd = systemd_listen_fd();
    if (lfd < 0 && parse_listen(listen, &sa) != 0) {
        fprintf(stderr, "scoped: invalid listen address \"%s\" (want ADDR:PORT)\n", listen);
        return 1;
    }
    const limits_t *lim = &app->cfg.lim;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    /* block before MHD starts its threads, so that only sigwait below sees them */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    metrics_start();
    /* ITC: MHD_quiesce_daemon needs it with an internal polling thread */
    /* poll, not select: descriptors past FD_SETSIZE (1024) must work */
    /* a few threads move bytes for every connection; handlers that block run on the
     * worker pool while their connection is suspended (ITC: quiesce and resume need it) */
    /* poll, not epoll: libmicrohttpd 0.9.75 can abort in MHD_quiesce_daemon ("Failed to remove
     * listen FD from epoll set") when a thread pool shares the listen socket through epoll */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned http_threads = app->cfg.http_threads ? (unsigned)app->cfg.http_threads
                                                  : (unsigned)(cpus > 0 ? cpus : 1);
    /* a socket from systemd (scoped.socket) instead of binding one: it stays open across
     * restarts, so clients queue instead of being refused */
    struct MHD_OptionItem where[] = {
        lfd >= 0 ? (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, lfd, NULL}
                 : (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa},
        {MHD_OPTION_END, 0, NULL}};
    raise_fd_limit(lim->max_connections);
    app->conns = conn_registry_new(lim);
    app->replies = reply_cache_new(app->cfg.reply_cache_bytes);
    app->workers = worker_pool_new((size_t)app->cfg.workers, run_request, app);
    if (!app->conns || !app->replies || !app->workers) {
        fprintf(stderr, "scoped: cannot start the connection watchdog, reply cache or workers\n");
        serve_cleanup(app);
        return 1;
    }
    /* MHD's own caps sit a little above ours, so that the first connections past the limit
     * get a 429 in Bit's shape instead of a silent close */
    app->daemon = MHD_start_daemon(
        flags, lfd >= 0 ? 0 : ntohs(sa.sin_port), NULL, NULL, on_request, app, MHD_OPTION_ARRAY,
        where, MHD_OPTION_NOTIFY_COMPLETED, on_completed, app, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, app, MHD_OPTION_URI_LOG_CALLBACK, conn_uri_logged, app->conns,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(lim->max_connections + CONN_SLACK),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)(lim->max_connections_per_ip + CONN_SLACK),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)lim->idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(lim->max_header_bytes + 16 * KIB),
        MHD_OPTION_THREAD_POOL_SIZE, http_threads, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)(1 * MIB), MHD_OPTION_END);
    if (!app->daemon) {
        fprintf(stderr, "scoped: cannot listen on %s: %s\n",
                lfd >= 0 ? "the socket systemd passed" : listen, strerror(errno));
        serve_cleanup(app);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(app->daemon, MHD_DAEMON_INFO_BIND_PORT);
    log_info("msg=\"scoped serving\" listen=%s port=%u data=%s http_threads=%u workers=%llu "
             "reply_cache=%llu",
             lfd >= 0 ? "systemd-socket" : listen, info ? info->port : 0, app->cfg.data_dir,
             http_threads, (unsigned long long)app->cfg.workers,
             (unsigned long long)app->cfg.reply_cache_bytes);
    if (log_batch_start() != 0)
        log_warn("msg=\"cannot start the log flusher: one write per line\"");
    if (app_maintenance_start(app) != 0) {
        log_batch_stop();
        worker_pool_stop(app->workers, cancel_request);
        app->workers = NULL;
        MHD_stop_daemon(app->daemon);
        serve_cleanup(app);
        fprintf(stderr, "scoped: cannot start the maintenance thread\n");
        return 1;
    }
    systemd_notify("READY=1\nSTATUS=serving");
    /* the watchdog is pinged at half its interval, and only while the daemon can serve */
    uint64_t wd = systemd_watchdog_usec();
    int sig = 0;
    while (sig != SIGTERM && sig != SIGINT) {
        if (!wd) {
            sigwait(&set, &sig);
            continue;
        }
        struct timespec ts = {(time_t)(wd / 2 / 1000000), (long)(wd / 2 % 1000000) * 1000};
        sig = sigtimedwait(&set, NULL, &ts);
        if (sig < 0 && http_healthy(app))
            systemd_notify("WATCHDOG=1");
    }
    systemd_notify("STOPPING=1\nSTATUS=finishing requests in flight");
    log_info("msg=\"stopping\" signal=%d requests_in_flight=%ld", sig, metrics_in_flight());
    drain(app);
    serve_cleanup(app);
    app_maintenance_stop(app);
    log_info("msg=\"stopped\"");
    log_batch_stop();
    return 0;
}
