#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "error.h"
#include "log.h"

typedef enum { CONN_AWAITING, CONN_IN_REQUEST, CONN_CUT } conn_state_t;

/* The list is guarded by the registry's lock; a connection's own fields are atomics, which its
 * thread sets on every request without taking that lock and the watchdog reads. */
struct conn {
    conn_registry_t *reg;
    conn_t *prev, *next;
    int fd;
    char address[64];
    bool over;
    atomic_bool served; /* has had a request: waiting now is keep-alive, not a slow first one */
    _Atomic conn_state_t state;
    atomic_llong deadline; /* CLOCK_MONOTONIC ms; the connection is cut past it while awaiting */
};

struct conn_registry {
    limits_t lim;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    conn_t *head;
    unsigned open;
    bool stop;
    pthread_t watchdog;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void address_of(struct MHD_Connection *c, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = 0;
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)len);
}

/* A 408 in Bit's shape, written straight to the socket: the request never reached a handler,
 * and MHD has nothing queued on a connection that is still reading headers. */
static void send_timeout(int fd, uint64_t secs)
{
    err_t e;
    err_init(&e);
    err_set(&e, ERR_REQUEST_TIMEOUT, "request headers did not arrive within %llu s",
            (unsigned long long)secs);
    json_t *body = err_to_json(&e);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return;
    char msg[1024];
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                     "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(text), text);
    free(text);
    if (n > 0 && (size_t)n < sizeof msg)
        (void)!send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void *watchdog_main(void *arg)
{
    conn_registry_t *reg = arg;
    pthread_mutex_lock(&reg->lock);
    while (!reg->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250 * 1000000L; /* the deadline holds to a quarter second */
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&reg->wake, &reg->lock, &until);
        int64_t now = now_ms();
        /* MHD closes the fd only after CONN_NOTIFY_CLOSED, which takes this lock: every fd in
         * the list is still this connection's */
        for (conn_t *cn = reg->head; cn; cn = cn->next) {
            conn_state_t awaiting = CONN_AWAITING;
            if (now < atomic_load(&cn->deadline) || cn->fd < 0 ||
                !atomic_compare_exchange_strong(&cn->state, &awaiting, CONN_CUT))
                continue;
            if (!atomic_load(&cn->served)) {
                send_timeout(cn->fd, reg->lim.header_timeout_s);
                log_info("msg=\"request headers too slow, connection closed\" address=%s "
                         "timeout_s=%llu",
                         cn->address, (unsigned long long)reg->lim.header_timeout_s);
            }
            shutdown(cn->fd, SHUT_RDWR);
        }
    }
    pthread_mutex_unlock(&reg->lock);
    return NULL;
}

conn_registry_t *conn_registry_new(const limits_t *lim)
{
    conn_registry_t *reg = calloc(1, sizeof *reg);
    if (!reg)
        return NULL;
    reg->lim = *lim;
    pthread_mutex_init(&reg->lock, NULL);
    pthread_cond_init(&reg->wake, NULL);
    if (pthread_create(&reg->watchdog, NULL, watchdog_main, reg) != 0) {
        pthread_mutex_destroy(&reg->lock);
        pthread_cond_destroy(&reg->wake);
        free(reg);
        return NULL;
    }
    return reg;
}

void conn_registry_free(conn_registry_t *reg)
{
    if (!reg)
        return;
    pthread_mutex_lock(&reg->lock);
    reg->stop = true;
    pthread_cond_signal(&reg->wake);
    pthread_mutex_unlock(&reg->lock);
    pthread_join(reg->watchdog, NULL);
    while (reg->head) {
        conn_t *cn = reg->head;
        reg->head = cn->next;
        free(cn);
    }
    pthread_mutex_destroy(&reg->lock);
    pthread_cond_destroy(&reg->wake);
    free(reg);
}

void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                 enum MHD_ConnectionNotificationCode code)
{
    conn_registry_t *reg = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_t *cn = calloc(1, sizeof *cn);
        if (!cn)
            return; /* unregistered: served without the per-address count */
        cn->reg = reg;
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        cn->fd = fi ? fi->connect_fd : -1;
        address_of(c, cn->address, sizeof cn->address);
        atomic_init(&cn->state, CONN_AWAITING);
        atomic_init(&cn->served, false);
        atomic_init(&cn->deadline, now_ms() + (int64_t)reg->lim.header_timeout_s * 1000);
        pthread_mutex_lock(&reg->lock);
        unsigned same = 1;
        for (conn_t *o = reg->head; o; o = o->next)
            same += !strcmp(o->address, cn->address);
        reg->open++;
        cn->over = reg->open > reg->lim.max_connections || same > reg->lim.max_connections_per_ip;
        cn->next = reg->head;
        if (reg->head)
            reg->head->prev = cn;
        reg->head = cn;
        pthread_mutex_unlock(&reg->lock);
        *socket_context = cn;
        return;
    }
    conn_t *cn = *socket_context;
    if (code != MHD_CONNECTION_NOTIFY_CLOSED || !cn)
        return;
    pthread_mutex_lock(&reg->lock);
    if (cn->prev)
        cn->prev->next = cn->next;
    else
        reg->head = cn->next;
    if (cn->next)
        cn->next->prev = cn->prev;
    reg->open--;
    pthread_mutex_unlock(&reg->lock);
    free(cn);
    *socket_context = NULL;
}

conn_t *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void *conn_uri_logged(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)uri;
    conn_t *cn = conn_of(c);
    if (!cn)
        return NULL;
    /* the request line is in: from now on its headers have header_timeout to arrive, however
     * long the connection sat idle before (which MHD's idle timeout bounds) */
    if (atomic_load(&cn->state) == CONN_AWAITING && atomic_load(&cn->served)) {
        atomic_store(&cn->deadline, now_ms() + (int64_t)cn->reg->lim.header_timeout_s * 1000);
        atomic_store(&cn->served, false);
    }
    return NULL;
}

const char *conn_address(const conn_t *cn)
{
    return cn ? cn->address : "";
}

bool conn_over_limit(const conn_t *cn)
{
    return cn && cn->over;
}

void conn_request_started(conn_t *cn)
{
    conn_state_t awaiting = CONN_AWAITING;
    if (cn)
        atomic_compare_exchange_strong(&cn->state, &awaiting, CONN_IN_REQUEST);
}

void conn_request_done(conn_t *cn)
{
    if (!cn || atomic_load(&cn->state) != CONN_IN_REQUEST)
        return;
    /* between requests MHD's idle timeout applies; this is only a backstop */
    atomic_store(&cn->deadline,
                 now_ms() + (int64_t)(cn->reg->lim.idle_timeout_s + cn->reg->lim.header_timeout_s) *
                                1000);
    atomic_store(&cn->served, true);
    atomic_store(&cn->state, CONN_AWAITING);
}

unsigned conn_open_count(conn_registry_t *reg)
{
    pthread_mutex_lock(&reg->lock);
    unsigned n = reg->open;
    pthread_mutex_unlock(&reg->lock);
    return n;
}
