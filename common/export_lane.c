/* Lane exports (protocol.md §8.4 B): Components are not merged, only the Lane. A new lane is
 * stored as uploaded; an existing one takes each incoming component head that is ahead of its
 * own, keeps its own where it is ahead, and refuses (131) where the two diverged. LaneHistory
 * objects merge by key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export_plan.h"
#include "lane.h"

struct lmerge {
    pobj_t *in;
    char name[NAME_MAX_LEN];
    json_t *result;  /* the merged Lane; NULL stores the uploaded one */
    bool changed;
    pobj_t *history; /* an uploaded LaneHistory of this lane, or NULL */
    json_t *history_result;
};

/* Is anc an ancestor of (or equal to) desc, through uploaded and stored Versions? */
static bool is_ancestor(plan_t *p, const char *anc, const char *desc)
{
    refqueue_t w;
    refqueue_init(&w);
    refqueue_push(&w, desc);
    bool found = false;
    for (size_t i = 0; i < w.n && !found; i++) {
        if (!strcmp(w.refs[i], anc)) {
            found = true;
            break;
        }
        pobj_t *v = plan_version(p, w.refs[i]);
        if (v) {
            for (size_t k = 0; k < v->vi.nparents; k++)
                refqueue_push(&w, v->vi.parents[k]);
        } else {
            index_version_ref_each(p->st->ix, p->scope->id, w.refs[i], VREF_PARENT, refqueue_push,
                                   &w);
        }
    }
    refqueue_free(&w);
    return found;
}

/* Does the scope (or the upload) hold the Component object of scope/name? */
static bool component_known(plan_t *p, const char *scope, const char *name)
{
    char ref[REF_HEX];
    sha1_hex3(scope, "/", name, ref);
    return plan_has(p, ref);
}

static json_t *find_entry(json_t *components, const char *scope, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(components, i, e)
    {
        json_t *id = json_object_get(e, "id");
        const char *s = json_string_value(json_object_get(id, "scope"));
        const char *n = json_string_value(json_object_get(id, "name"));
        if (s && n && !strcmp(s, scope) && !strcmp(n, name))
            return e;
    }
    return NULL;
}

static int merge_entry(plan_t *p, lmerge_t *l, json_t *existing, json_t *entry, err_t *err)
{
    json_t *id = json_object_get(entry, "id");
    const char *scope = json_string_value(json_object_get(id, "scope"));
    const char *name = json_string_value(json_object_get(id, "name"));
    const char *head = json_string_value(json_object_get(entry, "head"));
    if (!scope || !name || !head || !is_ref40(head, strlen(head)) || !component_name_valid(name))
        return err_set(err, ERR_BAD_REQUEST, "lane %s has an invalid component entry", l->name);
    if (!component_known(p, scope, name))
        return err_set(err, ERR_BAD_REQUEST, "lane %s: component %s/%s was not found", l->name,
                       scope, name);
    if (!plan_has(p, head))
        return err_set(err, ERR_BAD_REQUEST,
                       "lane %s references %s/%s@%s, a snap that was not exported", l->name, scope,
                       name, head);
    if (!existing) {
        plan_add_full_id(p, scope, name, head);
        return 0;
    }
    json_t *comps = json_object_get(existing, "components");
    json_t *ex = find_entry(comps, scope, name);
    if (!ex) {
        json_array_append(comps, entry);
        l->changed = true;
        plan_add_full_id(p, scope, name, head);
        return 0;
    }
    const char *ex_head = json_string_value(json_object_get(ex, "head"));
    if (ex_head && !strcmp(ex_head, head))
        return 0;
    if (!ex_head || is_ancestor(p, ex_head, head)) {
        json_object_set_new(ex, "head", json_string(head));
        json_object_del(ex, "isDeleted");
        if (json_object_get(entry, "isDeleted"))
            json_object_set(ex, "isDeleted", json_object_get(entry, "isDeleted"));
        l->changed = true;
        plan_add_full_id(p, scope, name, head);
        return 0;
    }
    if (is_ancestor(p, head, ex_head))
        return 0; /* the scope is ahead: keep its head */
    char full[2 * NAME_MAX_LEN];
    snprintf(full, sizeof full, "%s/%s", scope, name);
    json_array_append_new(p->need_update,
                          json_pack("{s:s, s:s, s:b}", "id", full, "lane", l->name, "isDeleted", 0));
    return 0;
}

static json_t *load_json(plan_t *p, pobj_t *o, err_t *err)
{
    buf_t raw, payload;
    buf_init(&raw);
    buf_init(&payload);
    obj_type_t t;
    char ref[REF_HEX];
    json_t *j = NULL;
    if (blob_read(p->st->bs, p->st->ix, o->blob, p->st->lim->max_object_inflated, &raw) == 0 &&
        obj_decode(raw.data, raw.len, p->st->lim->max_object_inflated, &t, ref, &payload, err) == 0)
        j = json_loadb((const char *)payload.data, payload.len, 0, NULL);
    buf_free(&raw);
    buf_free(&payload);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        err_set(err, ERR_BAD_REQUEST, "%s %s is not a JSON object", obj_type_name(o->type), o->ref);
        return NULL;
    }
    return j;
}

static int merge_history(plan_t *p, lmerge_t *l, err_t *err)
{
    if (!l->history)
        return 0;
    json_t *in = load_json(p, l->history, err);
    if (!in)
        return -1;
    json_t *ex = store_object_json(p->st, p->scope->id, l->history->ref, OBJ_LANEHISTORY, err);
    err_clear(err);
    if (!ex) {
        l->history_result = NULL; /* new: stored as uploaded */
        json_decref(in);
        return 0;
    }
    json_t *hist = json_object_get(ex, "history");
    if (!json_is_object(hist)) {
        hist = json_object();
        json_object_set_new(ex, "history", hist);
    }
    json_object_update(hist, json_object_get(in, "history"));
    json_decref(in);
    l->history_result = ex;
    return 0;
}

int lane_plan_merge(plan_t *p, err_t *err)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->objs[i].type == OBJ_LANE)
            p->nlanes++;
    if (!p->nlanes)
        return 0;
    p->lanes = calloc(p->nlanes, sizeof *p->lanes);
    if (!p->lanes)
        return err_set(err, ERR_INTERNAL, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        pobj_t *o = &p->objs[i];
        if (o->type != OBJ_LANE)
            continue;
        lmerge_t *l = &p->lanes[k++];
        l->in = o;
        json_t *in = o->json ? o->json : (o->json = load_json(p, o, err));
        if (!in)
            return -1;
        const char *name = json_string_value(json_object_get(in, "name"));
        if (!name || !lane_name_valid(name))
            return err_set(err, ERR_BAD_REQUEST, "Lane %s has no valid name", o->ref);
        snprintf(l->name, sizeof l->name, "%s", name);
        char lh_ref[REF_HEX];
        lane_history_ref(o->ref, lh_ref);
        pobj_t *lh = plan_find(p, lh_ref);
        l->history = lh && lh->type == OBJ_LANEHISTORY ? lh : NULL;
        char ex_ref[REF_HEX];
        int found = index_lane_get(p->st->ix, p->scope->id, name, ex_ref);
        if (found < 0)
            return err_set(err, ERR_INTERNAL, "index read failed");
        if (found == 0 && strcmp(ex_ref, o->ref) != 0)
            return err_set(err, ERR_BAD_REQUEST,
                           "a lane %s/%s already exists with a different hash; export the lane to "
                           "another scope or import the existing lane first",
                           p->scope->name, name);
        json_t *existing = NULL;
        if (found == 0) {
            existing = store_object_json(p->st, p->scope->id, ex_ref, OBJ_LANE, err);
            if (!existing)
                return -1;
        } else {
            l->changed = true; /* a new lane is stored as uploaded */
        }
        size_t e;
        json_t *entry;
        int rc = 0;
        json_array_foreach(json_object_get(in, "components"), e, entry)
        {
            if (rc == 0)
                rc = merge_entry(p, l, existing, entry, err);
        }
        if (existing && l->changed) {
            json_object_set(existing, "log", json_object_get(in, "log"));
            l->result = existing;
        } else {
            json_decref(existing);
        }
        if (rc == 0)
            rc = merge_history(p, l, err);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int put_json_object(plan_t *p, obj_type_t type, const char *ref, json_t *j,
                           blob_batch_t *batch, char blob[BLOB_HEX], int64_t *size)
{
    char *text = json_dumps(j, JSON_COMPACT);
    buf_t enc;
    buf_init(&enc);
    int rc = text && obj_encode(type, ref, text, strlen(text), &enc) == 0 &&
                     blob_put(batch, enc.data, enc.len, blob) == 0
                 ? 0
                 : -1;
    *size = (int64_t)enc.len;
    free(text);
    buf_free(&enc);
    (void)p;
    return rc;
}

int lane_plan_write(plan_t *p, blob_batch_t *batch, err_t *err)
{
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < p->nlanes; i++) {
        lmerge_t *l = &p->lanes[i];
        char blob[BLOB_HEX];
        int64_t size;
        int rc = 0;
        if (l->changed) {
            if (l->result) {
                rc = put_json_object(p, OBJ_LANE, l->in->ref, l->result, batch, blob, &size);
            } else {
                memcpy(blob, l->in->blob, BLOB_HEX);
                size = l->in->size;
            }
            if (rc == 0)
                rc = index_object_put(p->st->ix, p->scope->id, l->in->ref, OBJ_LANE, blob, size);
            if (rc == 0)
                rc = index_lane_put(p->st->ix, p->scope->id, l->name, l->in->ref, now);
        }
        if (rc == 0 && l->history) {
            if (l->history_result) {
                rc = put_json_object(p, OBJ_LANEHISTORY, l->history->ref, l->history_result,
                                     batch, blob, &size);
            } else {
                memcpy(blob, l->history->blob, BLOB_HEX);
                size = l->history->size;
            }
            if (rc == 0)
                rc = index_object_put(p->st->ix, p->scope->id, l->history->ref, OBJ_LANEHISTORY,
                                      blob, size);
        }
        if (rc != 0)
            return err_set(err, ERR_INTERNAL, "cannot write lane %s", l->name);
    }
    return 0;
}

void lane_plan_free(plan_t *p)
{
    for (size_t i = 0; i < p->nlanes; i++) {
        json_decref(p->lanes[i].result);
        json_decref(p->lanes[i].history_result);
    }
    free(p->lanes);
    p->lanes = NULL;
    p->nlanes = 0;
}
