#include "lane.h"

#include <string.h>

#include "model.h"

bool lane_name_valid(const char *s)
{
    return component_name_valid(s) && !strchr(s, '/');
}

void lane_history_ref(const char *lane_ref, char out[REF_HEX])
{
    sha1_hex3(lane_ref, ":LaneHistory", NULL, out);
}

const char *lane_id_name(const char *id)
{
    const char *slash = strchr(id, '/');
    const char *name = slash ? slash + 1 : id;
    return lane_name_valid(name) ? name : NULL;
}

json_t *lane_load(store_t *st, const scope_row_t *scope, const char *name, char ref[REF_HEX],
                  err_t *err)
{
    int rc = index_lane_get(st->ix, scope->id, name, ref);
    if (rc != 0) {
        if (rc < 0) {
            err_set(err, ERR_INTERNAL, "index read failed");
            return NULL;
        }
        err_set(err, ERR_LANE_NOT_FOUND, "lane %s/%s was not found", scope->name, name);
        err_field(err, "scopeName", json_string(scope->name));
        err_field(err, "laneName", json_string(name));
        return NULL;
    }
    return store_object_json(st, scope->id, ref, OBJ_LANE, err);
}

const char *lane_head(json_t *lane, const char *scope, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(lane, "components"), i, e)
    {
        json_t *id = json_object_get(e, "id");
        const char *s = json_string_value(json_object_get(id, "scope"));
        const char *n = json_string_value(json_object_get(id, "name"));
        if (s && n && !strcmp(s, scope) && !strcmp(n, name) &&
            !json_is_true(json_object_get(e, "isDeleted")))
            return json_string_value(json_object_get(e, "head"));
    }
    return NULL;
}
