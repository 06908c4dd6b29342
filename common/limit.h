/* Every limit scoped enforces, with its default. Each one is also a key of conf/scoped.conf. */
#ifndef SCOPED_LIMIT_H
#define SCOPED_LIMIT_H

#include <stdint.h>

#define KIB (1024ULL)
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)

typedef struct {
    uint64_t max_header_bytes;      /* request headers, total */
    uint64_t max_json_body;         /* fetch, action, delete, login, admin API bodies */
    uint64_t max_fetch_ids;         /* ids in one fetch */
    uint64_t max_json_depth;        /* JSON nesting */
    uint64_t max_graphql_bytes;     /* GraphQL document */
    uint64_t max_graphql_depth;     /* GraphQL nesting */
    uint64_t max_object_inflated;   /* inflated size of one object */
    uint64_t max_put_body;          /* one put body */
    uint64_t disk_reserve;          /* free space a put never eats into */
    uint64_t max_put_objects;       /* objects in one put */
    uint64_t max_connections;       /* connections in total */
    uint64_t max_connections_per_ip;
    uint64_t idle_timeout_s;        /* no progress for this long closes the connection */
    uint64_t header_timeout_s;      /* a request's headers must be in within this */
    uint64_t pending_expiry_s;      /* a pending export without progress expires */
    uint64_t max_pending_per_user;  /* pending exports one user may hold at once */
    uint64_t max_tar_header;        /* one PAX extended header of a put body */
    uint64_t login_failures;        /* failed logins per client address per window */
    uint64_t login_window_s;
    uint64_t session_lifetime_s;    /* a web page session ends this long after sign-in */
} limits_t;

#define LIMITS_DEFAULT                                                                             \
    {                                                                                              \
        .max_header_bytes = 16 * KIB, .max_json_body = 8 * MIB, .max_fetch_ids = 100000,          \
        .max_json_depth = 64, .max_graphql_bytes = 64 * KIB, .max_graphql_depth = 32,              \
        .max_object_inflated = 256 * MIB, .max_put_body = 8 * GIB, .disk_reserve = 256 * MIB,     \
        .max_put_objects = 1000000, .max_connections = 1024, .max_connections_per_ip = 64,         \
        .idle_timeout_s = 60, .header_timeout_s = 30, .pending_expiry_s = 3600,                    \
        .max_pending_per_user = 256, .max_tar_header = 64 * KIB, .login_failures = 10,              \
        .login_window_s = 300, .session_lifetime_s = 12 * 3600,                                    \
    }

#endif
