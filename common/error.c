#include "error.h"

#include <stdio.h>
#include <string.h>

static const struct {
    int status;
    int code;
} err_table[ERR__COUNT] = {
    [ERR_NONE] = {200, 0},
    [ERR_BAD_REQUEST] = {400, 132},
    [ERR_SCOPE_NOT_FOUND] = {404, 129},
    [ERR_UNAUTHORIZED] = {401, 128},
    [ERR_FORBIDDEN] = {403, 128},
    [ERR_NO_PENDING] = {404, 132},
    [ERR_CLIENT_ID_IN_USE] = {409, 136},
    [ERR_TOO_LARGE] = {413, 132},
    [ERR_RATE_LIMITED] = {429, 132},
    [ERR_HEADERS_TOO_LARGE] = {431, 132},
    [ERR_REQUEST_TIMEOUT] = {408, 132},
    [ERR_NO_ROUTE] = {404, 132},
    [ERR_METHOD] = {405, 132},
    [ERR_MERGE_CONFLICT] = {409, 131},
    [ERR_COMPONENT_NOT_FOUND] = {404, 127},
    [ERR_ACTION_NOT_FOUND] = {400, 135},
    [ERR_SERVER_BUSY] = {503, 137},
    [ERR_LANE_NOT_FOUND] = {404, 138},
    [ERR_LOGIN_FAILED] = {401, 128},
    [ERR_STORAGE_FULL] = {507, 132},
    [ERR_INTERNAL] = {500, 132},
};

void err_init(err_t *e)
{
    e->kind = ERR_NONE;
    e->msg[0] = 0;
    e->extra = NULL;
}

void err_clear(err_t *e)
{
    json_decref(e->extra);
    err_init(e);
}

int err_set(err_t *e, err_kind_t kind, const char *fmt, ...)
{
    e->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void err_field(err_t *e, const char *key, json_t *value)
{
    if (!e->extra)
        e->extra = json_object();
    json_object_set_new(e->extra, key, value);
}

int err_http_status(err_kind_t kind)
{
    return kind < ERR__COUNT ? err_table[kind].status : 500;
}

int err_bit_code(err_kind_t kind)
{
    return kind < ERR__COUNT ? err_table[kind].code : 132;
}

json_t *err_to_json(const err_t *e)
{
    json_t *inner = e->extra ? json_deep_copy(e->extra) : json_object();
    json_object_set_new(inner, "code", json_integer(err_bit_code(e->kind)));
    json_object_set_new(inner, "message", json_string(e->msg));
    return json_pack("{s:s, s:o}", "message", e->msg, "error", inner);
}
