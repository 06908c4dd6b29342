/* The request bodies and headers read before any domain code runs: the fetch body, the action,
 * delete and login JSON, the push-options header of a put, and the names they carry. The first
 * byte picks which; the rest is the body as a client sends it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "model.h"
#include "request.h"

#define DEPTH 64

/* A path segment "..", which would climb out of a directory. */
static int has_dotdot(const char *s)
{
    for (const char *seg = s;; seg++) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 2 && seg[0] == '.' && seg[1] == '.')
            return 1;
        if (!end)
            return 0;
        seg = end;
    }
}

/* What the handlers do with the strings a body carries: a name that passes must be one that can
 * never leave its directory or scope. */
static void check_names(const char *s)
{
    if (client_id_valid(s) && (strchr(s, '/') || s[0] == '.'))
        abort();
    if (scope_name_valid(s) && (strchr(s, '/') || strstr(s, "..")))
        abort();
    if (component_name_valid(s) && (s[0] == '/' || strstr(s, "//") || has_dotdot(s)))
        abort();
    bit_id_t id;
    if (bit_id_parse(s, &id) && (!component_name_valid(id.name) || !id.scope[0]))
        abort();
    if (semver_valid(s))
        (void)semver_cmp(s, "1.0.0-rc.1");
}

static void strings_of(json_t *j, int budget)
{
    if (budget <= 0)
        return;
    if (json_is_string(j)) {
        check_names(json_string_value(j));
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) strings_of(v, budget - 1);
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            check_names(k);
            strings_of(v, budget - 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned kind = data[0] % 5;
    data++, size--;
    err_t err;
    err_init(&err);
    if (kind == 4) {
        /* the push-options header: a C string, as MHD hands it over */
        char *h = malloc(size + 1);
        memcpy(h, data, size);
        h[size] = 0;
        char client_id[130];
        if (request_push_options(h, DEPTH, client_id, sizeof client_id, &err) == 0) {
            if (!client_id_valid(client_id))
                abort();
        } else if (err.kind != ERR_BAD_REQUEST) {
            abort();
        }
        check_names(h);
        free(h);
        err_clear(&err);
        return 0;
    }
    json_t *body = request_json_parse(data, size, DEPTH, &err);
    if (!body) {
        if (err.kind != ERR_BAD_REQUEST)
            abort();
        err_clear(&err);
        return 0;
    }
    if (kind == 0 || kind == 1) {
        json_t *ids;
        fetch_opts_t opts;
        if (fetch_parse_request(body, kind == 1, 1000, &ids, &opts, &err) == 0) {
            size_t i;
            json_t *id;
            json_array_foreach(ids, i, id) check_names(json_string_value(id));
        }
    } else if (kind == 2) {
        /* action: {"name", "options": {"clientId", "isResumingExport"}}; delete: {"ids", ...};
         * login: {"username", "password"} */
        const char *name = json_string_value(json_object_get(body, "name"));
        json_t *opts = json_object_get(body, "options");
        const char *cid = json_string_value(json_object_get(opts, "clientId"));
        if (name)
            check_names(name);
        if (cid)
            check_names(cid);
        (void)json_is_true(json_object_get(opts, "isResumingExport"));
        (void)json_string_value(json_object_get(body, "username"));
        (void)json_string_value(json_object_get(body, "password"));
        json_t *ids = json_object_get(body, "ids");
        size_t i;
        json_t *id;
        json_array_foreach(ids, i, id) if (json_is_string(id)) check_names(json_string_value(id));
    } else {
        strings_of(body, 8);
    }
    json_decref(body);
    err_clear(&err);
    return 0;
}
