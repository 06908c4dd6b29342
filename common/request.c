#include "request.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

size_t request_json_depth(const unsigned char *s, size_t len)
{
    size_t depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if ((c == '}' || c == ']') && depth) {
            depth--;
        }
    }
    return max;
}

json_t *request_json_parse(const unsigned char *data, size_t len, uint64_t max_depth, err_t *err)
{
    /* jansson's own bound is far deeper, and it recurses once per level */
    if (request_json_depth(data, len) > max_depth) {
        err_set(err, ERR_BAD_REQUEST, "JSON body nests deeper than %llu levels",
                (unsigned long long)max_depth);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)data, len, 0, &je);
    if (!j)
        err_set(err, ERR_BAD_REQUEST, "malformed JSON body: %s (line %d)", je.text, je.line);
    return j;
}

int request_push_options(const char *header, uint64_t max_depth, char *client_id, size_t size,
                         err_t *err)
{
    json_t *po = NULL;
    if (header && request_json_depth((const unsigned char *)header, strlen(header)) <= max_depth)
        po = json_loads(header, 0, NULL);
    const char *id = json_string_value(json_object_get(po, "clientId"));
    if (!id) {
        json_decref(po);
        return err_set(err, ERR_BAD_REQUEST,
                       "put needs a push-options header with a clientId, e.g. {\"clientId\":\"1\"}");
    }
    /* the clientId names a pending area: only a plain token may do that */
    if (!client_id_valid(id) || strlen(id) >= size) {
        json_decref(po);
        return err_set(err, ERR_BAD_REQUEST, "invalid clientId in push-options");
    }
    snprintf(client_id, size, "%s", id);
    json_decref(po);
    return 0;
}
