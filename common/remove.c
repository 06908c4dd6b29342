#include "remove.h"

#include <string.h>

#include "history.h"
#include "lane.h"
#include "log.h"
#include "model.h"
#include "refset.h"

json_t *remove_result_new(void)
{
    /* the old clients call .map on removedDependencies and read removedFromLane as a flag */
    return json_pack("{s:[], s:[], s:[], s:{}, s:b, s:[]}", "removedComponentIds",
                     "missingComponents", "removedDependencies", "dependentBits",
                     "removedFromLane", 0, "removedLanes");
}

typedef struct {
    const scope_row_t *scope;
    json_t *found; /* names being removed */
    json_t *list;  /* dependents of one component, as BitId objects */
} dependents_ctx_t;

static bool name_in(json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        if (!strcmp(json_string_value(v), name))
            return true;
    }
    return false;
}

static int add_dependent(void *ctx, const char *name)
{
    dependents_ctx_t *d = ctx;
    /* components removed in the same request do not hold the others back */
    if (!name_in(d->found, name))
        json_array_append_new(d->list, json_pack("{s:s, s:s}", "scope", d->scope->name, "name", name));
    return 0;
}

/* The Versions of one component, gathered before any is deleted. */
typedef struct {
    store_t *st;
    const scope_row_t *scope;
    const char *name;
    json_t *refs;
    refset_t seen;
    refset_t on_lanes; /* the component's lane heads and their ancestors: they stay */
    bool named; /* refs the Component itself names: taken even without a Version row */
} versions_t;

static int lane_name_cb(void *ctx, const char *name, const char *ref)
{
    (void)ref;
    return json_array_append_new(ctx, json_string(name)) != 0;
}

static int lane_walk_push(void *ctx, const char *ref)
{
    versions_t *v = ctx;
    if (refset_add(&v->on_lanes, ref))
        json_array_append_new(v->refs, json_string(ref));
    return 0;
}

/* A lane of the scope may build on the component's snaps: its head there and every ancestor
 * stay, so that the lane keeps its whole history (Bit leaves every snap alone). */
static int collect_lane_versions(versions_t *v)
{
    json_t *names = json_array();
    int rc = index_lane_each(v->st->ix, v->scope->id, lane_name_cb, names) != 0 ? -1 : 0;
    json_t *saved = v->refs;
    v->refs = json_array(); /* the walk's queue */
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        err_t err;
        err_init(&err);
        char ref[REF_HEX];
        json_t *lane = rc ? NULL : lane_load(v->st, v->scope, json_string_value(n), ref, &err);
        const char *head = lane ? lane_head(lane, v->scope->name, v->name) : NULL;
        if (head && is_ref40(head, strlen(head)))
            lane_walk_push(v, head);
        json_decref(lane);
        err_clear(&err);
    }
    for (i = 0; rc == 0 && i < json_array_size(v->refs); i++)
        rc = index_version_ref_each(v->st->ix, v->scope->id,
                                    json_string_value(json_array_get(v->refs, i)), VREF_PARENT,
                                    lane_walk_push, v) != 0
                 ? -1
                 : 0;
    json_decref(v->refs);
    v->refs = saved;
    json_decref(names);
    return rc;
}

/* Takes ref unless the scope has it as another component's Version (a parent that an upload
 * assigned elsewhere stays), or has no Version row of it that the Component does not name. */
static int take_version(void *ctx, const char *ref)
{
    versions_t *v = ctx;
    char owner[NAME_MAX_LEN];
    if (!ref || !is_ref40(ref, strlen(ref)) || refset_has(&v->seen, ref) ||
        refset_has(&v->on_lanes, ref))
        return 0;
    int rc = index_version_component(v->st->ix, v->scope->id, ref, owner, sizeof owner);
    if (rc < 0)
        return 1;
    if ((rc == 1 && !v->named) || (rc == 0 && owner[0] && strcmp(owner, v->name)))
        return 0;
    if (refset_add_checked(&v->seen, ref) < 0)
        return 1;
    json_array_append_new(v->refs, json_string(ref));
    return 0;
}

static int take_row(void *ctx, const version_row_t *row)
{
    return take_version(ctx, row->ref);
}

static int take_values(versions_t *v, json_t *map)
{
    const char *key;
    json_t *ref;
    json_object_foreach(map, key, ref)
    {
        if (take_version(v, json_string_value(ref)))
            return 1;
    }
    return 0;
}

/* Every Version of the component (protocol.md §6.4): its tags and orphaned tags, its head and
 * detached heads, the snaps they reach through parents, and whatever export assigned to it. */
static int collect_versions(versions_t *v, const component_info_t *ci)
{
    json_t *detached = json_object_get(json_object_get(ci->json, "detachedHeads"), "heads");
    size_t i;
    json_t *h;
    if (collect_lane_versions(v) != 0)
        return -1;
    v->named = true;
    int rc = take_values(v, ci->versions) || (ci->orphaned && take_values(v, ci->orphaned)) ||
             (ci->head && take_version(v, ci->head));
    json_array_foreach(detached, i, h)
    {
        rc = rc || take_version(v, json_string_value(h));
    }
    v->named = false;
    if (!rc)
        rc = index_version_each_of(v->st->ix, v->scope->id, v->name, take_row, v) != 0;
    for (i = 0; !rc && i < json_array_size(v->refs); i++)
        rc = index_version_ref_each(v->st->ix, v->scope->id,
                                    json_string_value(json_array_get(v->refs, i)), VREF_PARENT,
                                    take_version, v) != 0;
    return rc ? -1 : 0;
}

/* The Component, its VersionHistory and every Version no lane builds on leave the index;
 * Sources stay, as Bit leaves files (other Versions may share them). */
static int remove_one(store_t *st, const scope_row_t *scope, const char *name, err_t *err)
{
    component_row_t row;
    int rc = index_component_get(st->ix, scope->id, name, &row);
    if (rc != 0)
        return err_set(err, ERR_INTERNAL, "index read failed");
    json_t *c = store_object_json(st, scope->id, row.ref, OBJ_COMPONENT, err);
    if (!c)
        return -1;
    component_info_t ci;
    versions_t v = {st, scope, name, json_array(), {0}, {0}, false};
    refset_init(&v.seen);
    refset_init(&v.on_lanes);
    rc = component_info_parse(c, &ci, err);
    if (rc == 0 && collect_versions(&v, &ci) != 0)
        rc = err_set(err, ERR_INTERNAL, "cannot list the versions of %s", name);
    size_t i;
    json_t *ref;
    json_array_foreach(v.refs, i, ref)
    {
        if (rc == 0)
            rc = index_object_delete(st->ix, scope->id, json_string_value(ref));
        if (rc == 0)
            rc = index_version_delete(st->ix, scope->id, json_string_value(ref));
    }
    json_decref(v.refs);
    refset_free(&v.seen);
    refset_free(&v.on_lanes);
    json_decref(c);
    char history[REF_HEX];
    history_ref(scope->name, name, history);
    if (rc == 0)
        rc = index_object_delete(st->ix, scope->id, history);
    if (rc == 0)
        rc = index_object_delete(st->ix, scope->id, row.ref);
    if (rc == 0)
        rc = index_component_delete(st->ix, scope->id, name);
    if (rc != 0 && err->kind == ERR_NONE)
        err_set(err, ERR_INTERNAL, "cannot remove %s from the index: %s", name,
                index_errmsg(st->ix));
    return rc ? -1 : 0;
}

/* Splits ids into found names and missing ids. */
static int split_ids(store_t *st, const scope_row_t *scope, json_t *ids, json_t *found,
                     json_t *missing, err_t *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        const char *s = json_string_value(v);
        bit_id_t id;
        if (!s || !bit_id_parse(s, &id))
            return err_set(err, ERR_BAD_REQUEST, "ids[%zu] is not a component id (scope/name)", i);
        component_row_t row;
        int rc = strcmp(id.scope, scope->name) ? 1 : index_component_get(st->ix, scope->id, id.name, &row);
        if (rc < 0)
            return err_set(err, ERR_INTERNAL, "index read failed");
        char plain[2 * NAME_MAX_LEN + 1];
        snprintf(plain, sizeof plain, "%s/%s", id.scope, id.name);
        if (rc == 1) {
            json_array_append_new(missing, json_string(plain));
        } else if (!name_in(found, id.name)) {
            json_array_append_new(found, json_string(id.name));
        }
    }
    return 0;
}

int remove_components(store_t *st, const scope_row_t *scope, json_t *ids, bool force,
                      json_t **result, err_t *err)
{
    *result = NULL;
    if (!json_is_array(ids))
        return err_set(err, ERR_BAD_REQUEST, "\"ids\" must be an array of component ids");
    if (json_array_size(ids) > st->lim->max_fetch_ids)
        return err_set(err, ERR_TOO_LARGE, "more than %llu ids in one delete",
                       (unsigned long long)st->lim->max_fetch_ids);
    json_t *res = remove_result_new();
    json_t *found = json_array();
    /* one write transaction: the dependents check and the removal see the same scope, and
     * exports to it wait */
    if (index_begin(st->ix) != 0) {
        json_decref(res);
        json_decref(found);
        return err_set(err, ERR_INTERNAL, "index busy");
    }
    int rc = split_ids(st, scope, ids, found, json_object_get(res, "missingComponents"), err);
    bool blocked = false;
    size_t i;
    json_t *n;
    if (rc == 0 && !force)
        json_array_foreach(found, i, n)
        {
            dependents_ctx_t d = {scope, found, json_array()};
            if (index_component_dependents(st->ix, scope->id, scope->name, json_string_value(n),
                                           add_dependent, &d) != 0)
                rc = err_set(err, ERR_INTERNAL, "index read failed");
            if (json_array_size(d.list)) {
                char key[2 * NAME_MAX_LEN + 1];
                snprintf(key, sizeof key, "%s/%s", scope->name, json_string_value(n));
                json_object_set(json_object_get(res, "dependentBits"), key, d.list);
                blocked = true;
            }
            json_decref(d.list);
        }
    if (rc == 0 && !blocked)
        json_array_foreach(found, i, n)
        {
            if (rc == 0)
                rc = remove_one(st, scope, json_string_value(n), err);
            char id[2 * NAME_MAX_LEN + 1];
            snprintf(id, sizeof id, "%s/%s", scope->name, json_string_value(n));
            json_array_append_new(json_object_get(res, "removedComponentIds"), json_string(id));
        }
    if (rc == 0 && index_commit(st->ix) != 0)
        rc = err_set(err, ERR_INTERNAL, "cannot commit the removal: %s", index_errmsg(st->ix));
    if (rc != 0) {
        index_rollback(st->ix);
        json_decref(res);
        json_decref(found);
        return -1;
    }
    if (!blocked && json_array_size(found))
        log_info("msg=\"components removed\" scope=%s count=%zu force=%d", scope->name,
                 json_array_size(found), (int)force);
    json_decref(found);
    *result = res;
    return 0;
}
