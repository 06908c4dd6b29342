/* One table of error kinds: each maps to an HTTP status and a Bit error code (protocol.md §4).
 * Domain code says which error happened; only the HTTP layer turns it into a reply. */
#ifndef SCOPED_ERROR_H
#define SCOPED_ERROR_H

#include <jansson.h>
#include <stdarg.h>

typedef enum {
    ERR_NONE = 0,
    ERR_BAD_REQUEST,         /* malformed body, object, tar, name or option */
    ERR_SCOPE_NOT_FOUND,     /* a read of a scope that is absent or not readable */
    ERR_UNAUTHORIZED,        /* a write without a valid token */
    ERR_FORBIDDEN,           /* a write with a token that lacks the role */
    ERR_NO_PENDING,          /* an action on a clientId with no pending export */
    ERR_CLIENT_ID_IN_USE,    /* a clientId already uploading */
    ERR_TOO_LARGE,           /* a body or size limit crossed */
    ERR_RATE_LIMITED,        /* a rate limit crossed */
    ERR_HEADERS_TOO_LARGE,   /* request headers past max_header_bytes */
    ERR_REQUEST_TIMEOUT,     /* request headers not in within header_timeout */
    ERR_NO_ROUTE,            /* unknown route */
    ERR_METHOD,              /* wrong method */
    ERR_MERGE_CONFLICT,      /* export conflicts with what the scope holds */
    ERR_COMPONENT_NOT_FOUND, /* a dependency of an export is missing */
    ERR_ACTION_NOT_FOUND,    /* unknown action name */
    ERR_SERVER_BUSY,
    ERR_LANE_NOT_FOUND,
    ERR_LOGIN_FAILED,        /* wrong username or password */
    ERR_STORAGE_FULL,        /* the disk reserve would be crossed */
    ERR_INTERNAL,            /* anything the client cannot fix; details go to the log only */
    ERR__COUNT
} err_kind_t;

typedef struct {
    err_kind_t kind;
    char msg[512];
    json_t *extra; /* fields added to the "error" object (e.g. idsAndVersions), owned */
} err_t;

void err_init(err_t *e);
void err_clear(err_t *e);
/* Sets kind and message; returns -1 so callers can `return err_set(...)`. */
int err_set(err_t *e, err_kind_t kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like err_set, and adds one field to the error object (steals the reference). */
void err_field(err_t *e, const char *key, json_t *value);

int err_http_status(err_kind_t kind);
int err_bit_code(err_kind_t kind);
/* {"message": msg, "error": {"code": N, "message": msg, ...extra}} (new reference) */
json_t *err_to_json(const err_t *e);

#endif
