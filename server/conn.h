/* Every open connection, known from accept to close: counted per client address and in total,
 * and held to the header deadline (MHD itself only knows an idle timeout, which a client sending
 * a byte every few seconds never reaches). */
#ifndef SCOPED_CONN_H
#define SCOPED_CONN_H

#include <microhttpd.h>
#include <stdbool.h>

#include "limit.h"

typedef struct conn_registry conn_registry_t;
typedef struct conn conn_t;

/* Starts the watchdog thread; NULL when out of memory or threads. */
conn_registry_t *conn_registry_new(const limits_t *lim);
void conn_registry_free(conn_registry_t *reg);

/* MHD_OPTION_NOTIFY_CONNECTION (cls: the registry) and MHD_OPTION_URI_LOG_CALLBACK. */
void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                 enum MHD_ConnectionNotificationCode code);
void *conn_uri_logged(void *cls, const char *uri, struct MHD_Connection *c);

/* The registry's record of a connection, NULL if it has none. */
conn_t *conn_of(struct MHD_Connection *c);
/* The client's address as text, formatted once when the connection opened ("" if unknown). */
const char *conn_address(const conn_t *cn);
/* Whether this connection went past max_connections or max_connections_per_ip when it opened. */
bool conn_over_limit(const conn_t *cn);
/* The headers of a request are in: the deadline no longer applies until the next request. */
void conn_request_started(conn_t *cn);
/* A request is done; the connection waits for the next one (keep-alive). */
void conn_request_done(conn_t *cn);
/* Connections open now (for /metrics and tests). */
unsigned conn_open_count(conn_registry_t *reg);

#endif
