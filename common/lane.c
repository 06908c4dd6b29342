#include "lane.h"

#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "refset.h"

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

typedef struct {
    refset_t seen;
    char (*q)[REF_HEX];
    size_t n, cap;
} anc_walk_t;

static int anc_push(void *ctx, const char *ref)
{
    anc_walk_t *w = ctx;
    if (!refset_add(&w->seen, ref))
        return 0;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        void *p = realloc(w->q, cap * sizeof *w->q);
        if (!p)
            return 1;
        w->q = p;
        w->cap = cap;
    }
    memcpy(w->q[w->n++], ref, REF_HEX);
    return 0;
}

/* Is anc the head of main or one of its ancestors? */
static bool on_main(store_t *st, const scope_row_t *scope, const char *name, const char *anc)
{
    component_row_t row;
    if (index_component_get(st->ix, scope->id, name, &row) != 0 || !row.head[0])
        return false;
    anc_walk_t w = {0};
    refset_init(&w.seen);
    anc_push(&w, row.head);
    bool found = false;
    for (size_t i = 0; i < w.n && !found; i++) {
        found = !strcmp(w.q[i], anc);
        if (!found)
            index_version_ref_each(st->ix, scope->id, w.q[i], VREF_PARENT, anc_push, &w);
    }
    free(w.q);
    refset_free(&w.seen);
    return found;
}

int lane_remove(store_t *st, const scope_row_t *scope, json_t *ids, bool force, json_t **result,
                err_t *err)
{
    *result = NULL;
    if (!json_is_array(ids) || json_array_size(ids) == 0)
        return err_set(err, ERR_BAD_REQUEST, "\"ids\" must be a non-empty array of lane ids");
    if (index_begin(st->ix) != 0)
        return err_set(err, ERR_INTERNAL, "index busy");
    json_t *removed = json_array();
    size_t i;
    json_t *id;
    int rc = 0;
    json_array_foreach(ids, i, id)
    {
        const char *s = json_string_value(id);
        const char *name = s ? lane_id_name(s) : NULL;
        if (!name) {
            rc = err_set(err, ERR_BAD_REQUEST, "ids[%zu] is not a lane id", i);
            break;
        }
        if (!strcmp(name, "main")) {
            rc = err_set(err, ERR_BAD_REQUEST, "the default lane \"main\" cannot be removed");
            break;
        }
        char ref[REF_HEX];
        json_t *lane = lane_load(st, scope, name, ref, err);
        if (!lane) {
            rc = -1;
            break;
        }
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(lane, "components"), k, e)
        {
            json_t *cid = json_object_get(e, "id");
            const char *cs = json_string_value(json_object_get(cid, "scope"));
            const char *cn = json_string_value(json_object_get(cid, "name"));
            const char *head = json_string_value(json_object_get(e, "head"));
            if (force || rc || !cs || !cn || !head || strcmp(cs, scope->name))
                continue;
            if (!on_main(st, scope, cn, head))
                rc = err_set(err, ERR_BAD_REQUEST,
                             "lane %s is not fully merged into main (%s/%s); use --force to "
                             "remove it anyway",
                             name, cs, cn);
        }
        json_decref(lane);
        /* the Lane object and its LaneHistory go with the row, so that gc reclaims their blobs */
        char history[REF_HEX];
        lane_history_ref(ref, history);
        if (rc == 0 && (index_lane_delete(st->ix, scope->id, name) < 0 ||
                        index_object_delete(st->ix, scope->id, ref) < 0 ||
                        index_object_delete(st->ix, scope->id, history) < 0))
            rc = err_set(err, ERR_INTERNAL, "cannot remove lane %s", name);
        if (rc != 0)
            break;
        json_array_append(removed, id);
    }
    if (rc == 0 && index_commit(st->ix) != 0)
        rc = err_set(err, ERR_INTERNAL, "cannot remove lanes");
    if (rc != 0) {
        index_rollback(st->ix);
        json_decref(removed);
        return -1;
    }
    *result = json_pack("{s:[], s:[], s:[], s:{}, s:b, s:o}", "removedComponentIds",
                        "missingComponents", "removedDependencies", "dependentBits",
                        "removedFromLane", 0, "removedLanes", removed);
    return 0;
}
