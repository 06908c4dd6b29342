#include "export.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blob.h"
#include "history.h"
#include "log.h"
#include "model.h"
#include "objcache.h"
#include "refset.h"
#include "export_plan.h"

/* ---- merge (protocol.md §8.4 A) */

static int plan_add(void *ctx, const char *ref, obj_type_t type, const char *blob, int64_t size)
{
    plan_t *p = ctx;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        pobj_t *o = realloc(p->objs, cap * sizeof *o);
        if (!o)
            return 1;
        p->objs = o;
        p->cap = cap;
    }
    pobj_t *o = &p->objs[p->n++];
    memset(o, 0, sizeof *o);
    snprintf(o->ref, sizeof o->ref, "%s", ref);
    o->type = type;
    snprintf(o->blob, sizeof o->blob, "%s", blob);
    o->size = size;
    return 0;
}

static int pobj_cmp(const void *a, const void *b)
{
    return strcmp(((const pobj_t *)a)->ref, ((const pobj_t *)b)->ref);
}

pobj_t *plan_find(plan_t *p, const char *ref)
{
    pobj_t key;
    snprintf(key.ref, sizeof key.ref, "%s", ref);
    return bsearch(&key, p->objs, p->n, sizeof *p->objs, pobj_cmp);
}

pobj_t *plan_version(plan_t *p, const char *ref)
{
    pobj_t *o = plan_find(p, ref);
    return o && o->type == OBJ_VERSION ? o : NULL;
}

/* keep: the uploaded Components and Versions go back to the parsed-object cache, for the
 * ExportPersist after this ExportValidate */
static void plan_free_keep(plan_t *p, bool keep)
{
    /* merged results share values with the uploaded objects: they go first, so that nothing
     * outside the kept objects refers into them once another thread may take them */
    for (size_t i = 0; i < p->ncomps; i++)
        json_decref(p->comps[i].result);
    for (size_t i = 0; i < p->n; i++) {
        pobj_t *o = &p->objs[i];
        version_info_free(&o->vi);
        if (keep && (o->type == OBJ_COMPONENT || o->type == OBJ_VERSION))
            objcache_put(o->blob, o->json, (size_t)o->size);
        else
            objcache_release(o->json);
    }
    free(p->objs);
    free(p->comps);
    json_decref(p->ids);
    json_decref(p->id_set);
    json_decref(p->comp_by_name);
    json_decref(p->conflicts);
    json_decref(p->need_update);
    lane_plan_free(p);
    memset(p, 0, sizeof *p);
}

static void plan_free(plan_t *p)
{
    plan_free_keep(p, false);
}

/* Is the object in the upload or in the scope already? */
bool plan_has(plan_t *p, const char *ref)
{
    return plan_find(p, ref) != NULL || index_object_get(p->st->ix, p->scope->id, ref, NULL) == 0;
}

static int plan_load(plan_t *p, const char *client_id, err_t *err)
{
    if (index_pending_object_each(p->st->ix, p->scope->id, client_id, plan_add, p) != 0)
        return err_set(err, ERR_INTERNAL, "cannot read the pending export");
    qsort(p->objs, p->n, sizeof *p->objs, pobj_cmp);
    obj_scratch_t z = {0};
    buf_t raw, payload;
    buf_init(&raw);
    buf_init(&payload);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->n; i++) {
        pobj_t *o = &p->objs[i];
        if (o->type != OBJ_COMPONENT && o->type != OBJ_VERSION)
            continue;
        obj_type_t t;
        char ref[REF_HEX];
        o->json = objcache_take(o->blob); /* parsed by the put, or by ExportValidate */
        rc = o->json ? 0 : blob_read(p->st->bs, p->st->ix, o->blob, p->st->lim->max_object_inflated, &raw);
        if (rc == 0 && !o->json)
            rc = obj_decode_with(&z, raw.data, raw.len, p->st->lim->max_object_inflated, &t, ref,
                                 &payload, err);
        if (rc == 0 && !o->json)
            o->json = json_loadb((const char *)payload.data, payload.len, 0, NULL);
        if (rc != 0 || !o->json) {
            rc = err_set(err, ERR_INTERNAL, "pending object %s is unreadable", o->ref);
            break;
        }
        if (o->type == OBJ_VERSION && version_info_parse(o->json, &o->vi, err) != 0) {
            rc = -1;
            break;
        }
        if (o->type == OBJ_VERSION)
            for (size_t s = 0; rc == 0 && s < o->vi.nsources; s++)
                if (!plan_has(p, o->vi.sources[s]))
                    rc = err_set(err, ERR_BAD_REQUEST,
                                 "Version %s refers to object %s, which is neither in the export"
                                 " nor in the scope",
                                 o->ref, o->vi.sources[s]);
    }
    obj_scratch_free(&z);
    buf_free(&raw);
    buf_free(&payload);
    return rc;
}

/* Every Version ref reachable from head through the uploaded Versions; a traversed Version
 * adds its parents even when they were not uploaded. Stops at `stop` (exclusive). */
int plan_reach(plan_t *p, const char *head, const char *stop, refset_t *out)
{
    if (!head)
        return 0;
    const char **queue = NULL;
    size_t qn = 0, qcap = 0, qi = 0;
    int rc = 0;
    if (stop && strcmp(head, stop) == 0)
        return 0;
    refset_add(out, head);
    pobj_t *start = plan_version(p, head);
    if (start) {
        queue = malloc(sizeof *queue * 16);
        qcap = 16;
        if (!queue)
            return -1;
        queue[qn++] = start->ref;
    }
    while (qi < qn) {
        pobj_t *v = plan_version(p, queue[qi++]);
        for (size_t i = 0; v && i < v->vi.nparents; i++) {
            const char *par = v->vi.parents[i];
            if (stop && strcmp(par, stop) == 0)
                continue;
            if (!refset_add(out, par))
                continue;
            pobj_t *pv = plan_version(p, par);
            if (!pv)
                continue;
            if (qn == qcap) {
                qcap *= 2;
                const char **q = realloc(queue, qcap * sizeof *q);
                if (!q) {
                    rc = -1;
                    break;
                }
                queue = q;
            }
            queue[qn++] = pv->ref;
        }
    }
    free(queue);
    return rc;
}

void plan_add_full_id(plan_t *p, const char *scope, const char *name, const char *version)
{
    char id[3 * NAME_MAX_LEN];
    snprintf(id, sizeof id, "%s/%s@%s", scope, name, version);
    if (json_object_get(p->id_set, id))
        return;
    json_object_set_new(p->id_set, id, json_true());
    json_array_append_new(p->ids, json_string(id));
}

void plan_add_id(plan_t *p, const char *name, const char *version)
{
    plan_add_full_id(p, p->scope->name, name, version);
}

static int ref_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The versions reached from the head that no tag names are merged as hashes, in ref order. */
static void add_hash_ids(plan_t *p, cmerge_t *m, refset_t *reached, json_t *versions)
{
    refset_t tagged;
    refset_init(&tagged);
    const char *tag;
    json_t *r;
    json_object_foreach(versions, tag, r)
    {
        if (json_is_string(r))
            refset_add(&tagged, json_string_value(r));
    }
    const char **found = calloc(reached->count ? reached->count : 1, sizeof *found);
    size_t n = 0;
    for (size_t i = 0; found && i < reached->cap; i++) {
        if (!reached->used[i])
            continue;
        char ref[REF_HEX];
        hex_encode(reached->slots[i], 20, ref);
        pobj_t *o = plan_version(p, ref);
        if (o && !refset_has(&tagged, ref) && n < reached->count)
            found[n++] = o->ref;
    }
    qsort(found, n, sizeof *found, ref_order);
    for (size_t i = 0; i < n; i++)
        plan_add_id(p, m->ci.name, found[i]);
    free(found);
    refset_free(&tagged);
}

static bool detached(const component_info_t *c)
{
    json_t *dh = json_object_get(c->json, "detachedHeads");
    json_t *cur = json_object_get(dh, "current");
    return cur && json_is_string(cur);
}

static void union_array(json_t *dst_obj, const char *key, json_t *src)
{
    json_t *dst = json_object_get(dst_obj, key);
    if (!json_is_array(src))
        return;
    if (!json_is_array(dst)) {
        dst = json_array();
        json_object_set_new(dst_obj, key, dst);
    }
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(src, i, a)
    {
        bool found = false;
        json_array_foreach(dst, j, b)
        {
            if (json_equal(a, b))
                found = true;
        }
        if (!found)
            json_array_append(dst, a);
    }
}

static int merge_existing(plan_t *p, cmerge_t *m, json_t *ex_json, err_t *err)
{
    component_info_t ex;
    if (component_info_parse(ex_json, &ex, err) != 0)
        return -1;
    const component_info_t *in = &m->ci;
    bool same_head = (!in->head && !ex.head) || (in->head && ex.head && !strcmp(in->head, ex.head));
    if (same_head && json_equal(in->versions, ex.versions) && !in->orphaned)
        return 0; /* nothing to merge */

    refset_t reached;
    refset_init(&reached);
    if (plan_reach(p, in->head, NULL, &reached) != 0) {
        refset_free(&reached);
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    bool head_missing = in->head && ex.head && !detached(in) && !refset_has(&reached, ex.head);
    json_t *conflicting = json_array();
    const char *tag;
    json_t *r;
    json_object_foreach(in->versions, tag, r)
    {
        json_t *er = json_object_get(ex.versions, tag);
        if (er && !json_equal(er, r))
            json_array_append_new(conflicting, json_string(tag));
    }
    refset_free(&reached);
    char id[2 * NAME_MAX_LEN];
    snprintf(id, sizeof id, "%s/%s", p->scope->name, in->name);
    if (json_array_size(conflicting) == 0 && head_missing) {
        json_array_append_new(p->need_update, json_pack("{s:s, s:b}", "id", id, "isDeleted", 0));
        json_decref(conflicting);
        return 0;
    }
    if (json_array_size(conflicting) > 0) {
        json_array_append_new(p->conflicts, json_pack("{s:s, s:o, s:b}", "id", id, "versions",
                                                      conflicting, "isDeleted", 0));
        return 0;
    }
    json_decref(conflicting);

    json_t *res = json_deep_copy(ex_json);
    json_t *versions = json_object_get(res, "versions");
    json_object_foreach(in->versions, tag, r)
    {
        if (!json_object_get(versions, tag)) {
            const char *ref = json_string_value(r);
            if (!plan_has(p, ref)) {
                json_decref(res);
                return err_set(err, ERR_BAD_REQUEST,
                               "component %s was exported without version %s (%s);"
                               " export with --all-versions",
                               id, tag, ref);
            }
            plan_add_id(p, in->name, tag);
        }
        json_object_set(versions, tag, r);
    }
    if (in->head)
        json_object_set_new(res, "head", json_string(in->head));
    json_object_del(res, "orphanedVersions");
    json_t *dh_in = json_object_get(in->json, "detachedHeads");
    if (json_is_object(dh_in) || json_object_get(res, "detachedHeads")) {
        json_t *dh = json_object_get(res, "detachedHeads");
        if (!json_is_object(dh)) {
            dh = json_object();
            json_object_set_new(res, "detachedHeads", dh);
        }
        union_array(dh, "heads", json_object_get(dh_in, "heads"));
        union_array(dh, "deleted", json_object_get(dh_in, "deleted"));
        json_object_del(dh, "current");
    }
    refset_t fresh;
    refset_init(&fresh);
    plan_reach(p, in->head, ex.head, &fresh);
    add_hash_ids(p, m, &fresh, versions);
    refset_free(&fresh);
    m->result = res;
    m->changed = true;
    return 0;
}

static int merge_new(plan_t *p, cmerge_t *m, err_t *err)
{
    const component_info_t *in = &m->ci;
    refset_t reached;
    refset_init(&reached);
    plan_reach(p, in->head, NULL, &reached);
    const char *tag;
    json_t *r;
    json_object_foreach(in->versions, tag, r)
    {
        if (!plan_has(p, json_string_value(r))) {
            refset_free(&reached);
            return err_set(err, ERR_BAD_REQUEST,
                           "component %s/%s was exported without version %s (%s);"
                           " export with --all-versions",
                           p->scope->name, in->name, tag, json_string_value(r));
        }
        plan_add_id(p, in->name, tag);
    }
    for (size_t i = 0; i < reached.cap; i++) {
        if (!reached.used[i])
            continue;
        char ref[REF_HEX];
        hex_encode(reached.slots[i], 20, ref);
        if (!plan_has(p, ref)) {
            refset_free(&reached);
            return err_set(err, ERR_BAD_REQUEST,
                           "component %s/%s was exported without version %s;"
                           " export with --all-versions",
                           p->scope->name, in->name, ref);
        }
    }
    add_hash_ids(p, m, &reached, in->versions);
    refset_free(&reached);
    m->is_new = m->changed = true;
    return 0;
}

/* Does the scope (after this merge) hold scope/name@version? */
static bool dep_satisfied(plan_t *p, const dep_t *d)
{
    size_t k;
    json_t *idx;
    json_array_foreach(json_object_get(p->comp_by_name, d->name), k, idx)
    {
        cmerge_t *m = &p->comps[json_integer_value(idx)];
        if (!d->version[0] || json_object_get(m->ci.versions, d->version) ||
            (is_ref40(d->version, strlen(d->version)) && plan_has(p, d->version)))
            return true;
    }
    component_row_t row;
    if (index_component_get(p->st->ix, p->scope->id, d->name, &row) != 0)
        return false;
    if (!d->version[0])
        return true;
    char v[REF_HEX];
    if (index_tag_get(p->st->ix, p->scope->id, d->name, d->version, v) == 0)
        return true;
    return is_ref40(d->version, strlen(d->version)) && plan_has(p, d->version);
}

static int check_deps(plan_t *p, err_t *err)
{
    for (size_t i = 0; i < p->n; i++) {
        pobj_t *o = &p->objs[i];
        if (o->type != OBJ_VERSION)
            continue;
        for (size_t d = 0; d < o->vi.ndeps; d++) {
            const dep_t *dep = &o->vi.deps[d];
            if (strcmp(dep->scope, p->scope->name) != 0 || dep_satisfied(p, dep))
                continue;
            char id[3 * NAME_MAX_LEN], dependent[2 * NAME_MAX_LEN + REF_HEX];
            snprintf(id, sizeof id, "%s/%s%s%s", dep->scope, dep->name, dep->version[0] ? "@" : "",
                     dep->version);
            snprintf(dependent, sizeof dependent, "%s/%s@%s", p->scope->name,
                     o->component ? o->component : "?", o->ref);
            err_set(err, ERR_COMPONENT_NOT_FOUND, "component %s was not found (a dependency of %s)",
                    id, dependent);
            err_field(err, "id", json_string(id));
            err_field(err, "dependentId", json_string(dependent));
            return -1;
        }
    }
    return 0;
}

/* Marks which component each uploaded Version belongs to, for the index and messages. */
static void assign_components(plan_t *p)
{
    for (size_t c = 0; c < p->ncomps; c++) {
        cmerge_t *m = &p->comps[c];
        const char *tag;
        json_t *r;
        json_object_foreach(m->ci.versions, tag, r)
        {
            pobj_t *v = plan_version(p, json_string_value(r));
            if (v)
                v->component = m->ci.name;
        }
        refset_t reached;
        refset_init(&reached);
        plan_reach(p, m->ci.head, NULL, &reached);
        for (size_t i = 0; i < reached.cap; i++) {
            if (!reached.used[i])
                continue;
            char ref[REF_HEX];
            hex_encode(reached.slots[i], 20, ref);
            pobj_t *v = plan_version(p, ref);
            if (v)
                v->component = m->ci.name;
        }
        refset_free(&reached);
    }
}

static int plan_merge(plan_t *p, err_t *err)
{
    bool lanes = false;
    for (size_t i = 0; i < p->n; i++)
        lanes |= p->objs[i].type == OBJ_LANE;
    p->ids = json_array();
    p->id_set = json_object();
    p->comp_by_name = json_object();
    p->conflicts = json_array();
    p->need_update = json_array();
    p->comps = calloc(p->n ? p->n : 1, sizeof *p->comps);
    if (!p->comps)
        return err_set(err, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < p->n; i++) {
        pobj_t *o = &p->objs[i];
        if (o->type != OBJ_COMPONENT)
            continue;
        cmerge_t *m = &p->comps[p->ncomps++];
        m->in = o;
        if (component_info_parse(o->json, &m->ci, err) != 0)
            return -1;
        if (!lanes && strcmp(m->ci.scope, p->scope->name) != 0)
            return err_set(err, ERR_BAD_REQUEST, "component %s/%s belongs to another scope than %s",
                           m->ci.scope, m->ci.name, p->scope->name);
        m->object_only = lanes;
        json_t *same = json_object_get(p->comp_by_name, m->ci.name);
        if (!same)
            json_object_set_new(p->comp_by_name, m->ci.name, same = json_array());
        json_array_append_new(same, json_integer((json_int_t)(p->ncomps - 1)));
    }
    assign_components(p);
    if (lanes && lane_plan_merge(p, err) != 0)
        return -1;
    for (size_t c = 0; !lanes && c < p->ncomps; c++) {
        cmerge_t *m = &p->comps[c];
        int rc = index_component_get(p->st->ix, p->scope->id, m->ci.name, &m->row);
        if (rc < 0)
            return err_set(err, ERR_INTERNAL, "index read failed");
        if (rc == 1) {
            if (merge_new(p, m, err) != 0)
                return -1;
            continue;
        }
        json_t *ex = store_object_json(p->st, p->scope->id, m->row.ref, OBJ_COMPONENT, err);
        if (!ex)
            return -1;
        rc = merge_existing(p, m, ex, err);
        json_decref(ex);
        if (rc != 0)
            return -1;
    }
    if (json_array_size(p->conflicts) || json_array_size(p->need_update)) {
        err_set(err, ERR_MERGE_CONFLICT, "merge conflict: the remote scope %s has versions that"
                " conflict with the export, or that the export lacks", p->scope->name);
        /* the old client reads idsAndVersions, the modern one idsAndVersionsWithConflicts */
        err_field(err, "isUserError", json_true());
        err_field(err, "name", json_string("MergeConflictOnRemote"));
        err_field(err, "idsAndVersions", json_deep_copy(p->conflicts));
        err_field(err, "idsAndVersionsWithConflicts", json_deep_copy(p->conflicts));
        err_field(err, "idsNeedUpdate", json_deep_copy(p->need_update));
        return -1;
    }
    /* a lane's dependencies may live in other scopes: the lane merge checked its own heads */
    return lanes ? 0 : check_deps(p, err);
}

static void row_from_merge(plan_t *p, cmerge_t *m, const component_info_t *final, int64_t now)
{
    bool existed = !m->is_new;
    int64_t created = existed ? m->row.created_at : now;
    bool deprecated = final->deprecated || (existed && m->row.deprecated);
    bool removed = existed && m->row.removed;
    if (final->head) {
        pobj_t *hv = plan_version(p, final->head);
        if (hv) {
            deprecated = version_deprecates(&hv->vi, component_tag_of(final, final->head)) ||
                         final->deprecated;
            removed = hv->vi.removed;
        }
    }
    memset(&m->row, 0, sizeof m->row);
    snprintf(m->row.name, sizeof m->row.name, "%s", final->name);
    snprintf(m->row.ref, sizeof m->row.ref, "%s", m->in->ref);
    snprintf(m->row.head, sizeof m->row.head, "%s", final->head ? final->head : "");
    component_latest(final, m->row.latest, sizeof m->row.latest);
    m->row.deprecated = deprecated;
    m->row.removed = removed;
    m->row.created_at = created;
    m->row.updated_at = now;
}

/* Writes merged Component objects to the blob store, durably, before the index names them. */
static int write_components(plan_t *p, err_t *err)
{
    blob_batch_t batch;
    blob_batch_init(&batch, p->st->bs, p->st->ix);
    buf_t enc;
    buf_init(&enc);
    int64_t now = (int64_t)time(NULL);
    for (size_t c = 0; c < p->ncomps; c++) {
        cmerge_t *m = &p->comps[c];
        if (!m->changed)
            continue;
        if (!m->result) {
            snprintf(m->blob, sizeof m->blob, "%s", m->in->blob);
            m->size = m->in->size;
            row_from_merge(p, m, &m->ci, now);
            continue;
        }
        char *text = json_dumps(m->result, JSON_COMPACT);
        int rc = text ? obj_encode(OBJ_COMPONENT, m->in->ref, text, strlen(text), &enc) : -1;
        free(text);
        if (rc == 0)
            rc = blob_put(&batch, enc.data, enc.len, m->blob);
        if (rc != 0) {
            buf_free(&enc);
            blob_batch_free(&batch);
            return err_set(err, ERR_INTERNAL, "cannot write a merged component");
        }
        m->size = (int64_t)enc.len;
        component_info_t final;
        if (component_info_parse(m->result, &final, err) != 0) {
            buf_free(&enc);
            blob_batch_free(&batch);
            return -1;
        }
        row_from_merge(p, m, &final, now);
    }
    buf_free(&enc);
    /* inside export_persist's transaction: small blobs commit with the rows naming them */
    int rc = blob_batch_sync(&batch);
    blob_batch_free(&batch);
    if (rc != 0)
        return err_set(err, ERR_INTERNAL, "cannot make merged components durable");
    return 0;
}

static int index_version(plan_t *p, pobj_t *o)
{
    index_t *ix = p->st->ix;
    int64_t s = p->scope->id;
    version_meta_t meta = {o->component, o->vi.message, o->vi.username, o->vi.email, o->vi.date,
                           o->vi.build_status};
    int rc = index_version_put(ix, s, o->ref, &meta);
    for (size_t i = 0; rc == 0 && i < o->vi.nsources; i++)
        rc = index_version_ref_put(ix, s, o->ref, VREF_SOURCE, o->vi.sources[i]);
    for (size_t i = 0; rc == 0 && i < o->vi.nparents; i++)
        rc = index_version_ref_put(ix, s, o->ref, VREF_PARENT, o->vi.parents[i]);
    for (size_t i = 0; rc == 0 && i < o->vi.nartifacts; i++)
        rc = index_version_ref_put(ix, s, o->ref, VREF_ARTIFACT, o->vi.artifacts[i]);
    for (size_t i = 0; rc == 0 && i < o->vi.nsquashed; i++)
        rc = index_version_ref_put(ix, s, o->ref, VREF_SQUASHED, o->vi.squashed[i]);
    if (rc == 0 && o->vi.unrelated)
        rc = index_version_ref_put(ix, s, o->ref, VREF_UNRELATED, o->vi.unrelated);
    if (rc == 0 && o->vi.depgraph)
        rc = index_version_ref_put(ix, s, o->ref, VREF_DEPGRAPH,
                                   is_ref40(o->vi.depgraph, strlen(o->vi.depgraph))
                                       ? o->vi.depgraph
                                       : "0000000000000000000000000000000000000000");
    for (size_t i = 0; rc == 0 && i < o->vi.ndeps; i++)
        rc = index_version_dep_put(ix, s, o->ref, o->vi.deps[i].scope, o->vi.deps[i].name,
                                   o->vi.deps[i].version);
    return rc;
}

static const version_info_t *plan_version_info(void *ctx, const char *ref)
{
    pobj_t *o = plan_version(ctx, ref);
    return o ? &o->vi : NULL;
}

static int plan_write(plan_t *p, const char *client_id, err_t *err)
{
    index_t *ix = p->st->ix;
    int64_t s = p->scope->id;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->n; i++) {
        pobj_t *o = &p->objs[i];
        /* Components are written merged below, lanes by the lane merge; the scope's own
         * ScopeMeta stays */
        if (o->type == OBJ_COMPONENT || o->type == OBJ_SCOPEMETA || o->type == OBJ_LANE ||
            o->type == OBJ_LANEHISTORY)
            continue;
        rc = index_object_put(ix, s, o->ref, o->type, o->blob, o->size);
        if (rc == 0 && o->type == OBJ_VERSION)
            rc = index_version(p, o);
    }
    for (size_t c = 0; rc == 0 && c < p->ncomps; c++) {
        cmerge_t *m = &p->comps[c];
        if (m->object_only && index_object_get(ix, s, m->in->ref, NULL) == 1)
            rc = index_object_put(ix, s, m->in->ref, OBJ_COMPONENT, m->in->blob, m->in->size);
        if (!m->changed)
            continue;
        rc = index_object_put(ix, s, m->in->ref, OBJ_COMPONENT, m->blob, m->size);
        if (rc == 0)
            rc = index_component_put(ix, s, &m->row);
        json_t *versions = m->result ? json_object_get(m->result, "versions") : m->ci.versions;
        const char *tag;
        json_t *r;
        json_object_foreach(versions, tag, r)
        {
            if (rc == 0)
                rc = index_tag_put(ix, s, m->ci.name, tag, json_string_value(r));
        }
    }
    /* every changed component's VersionHistory, from the rows just written and, for the
     * uploaded Versions, from the plan those rows came from */
    history_source_t src = {plan_version_info, p};
    blob_batch_t batch;
    blob_batch_init(&batch, p->st->bs, ix);
    for (size_t c = 0; rc == 0 && c < p->ncomps; c++) {
        cmerge_t *m = &p->comps[c];
        if (!m->changed)
            continue;
        json_t *versions = m->result ? json_object_get(m->result, "versions") : m->ci.versions;
        rc = history_store(p->st, p->scope, m->ci.name, m->row.head[0] ? m->row.head : NULL,
                           versions, &src, &batch, err);
    }
    if (rc == 0 && p->nlanes)
        rc = lane_plan_write(p, &batch, err);
    if (rc == 0 && blob_batch_sync(&batch) != 0)
        rc = -1;
    blob_batch_free(&batch);
    char *result = rc == 0 ? json_dumps(p->ids, JSON_COMPACT) : NULL;
    if (rc == 0)
        rc = result ? index_pending_persisted(ix, s, client_id, result, (int64_t)time(NULL)) : -1;
    free(result);
    return rc == 0 ? 0 : err_set(err, ERR_INTERNAL, "cannot write the export to the index: %s",
                                 index_errmsg(ix));
}

/* Finds the pending export and checks who may act on it. 1: not there. */
static int pending_lookup(store_t *st, const scope_row_t *scope, const char *client_id,
                          const char *owner, pending_row_t *p, err_t *err)
{
    if (!client_id || !client_id_valid(client_id))
        return err_set(err, ERR_BAD_REQUEST, "invalid or missing clientId");
    memset(p, 0, sizeof *p);
    int rc = index_pending_get(st->ix, scope->id, client_id, p);
    if (rc < 0)
        return err_set(err, ERR_INTERNAL, "index read failed");
    if (rc == 1)
        return 1;
    if (strcmp(p->owner, owner ? owner : "") != 0) {
        free(p->result);
        p->result = NULL;
        return err_set(err, ERR_FORBIDDEN, "export %s belongs to another user", client_id);
    }
    return 0;
}

int export_validate(store_t *st, const scope_row_t *scope, const char *client_id, bool resuming,
                    const char *owner, err_t *err)
{
    pending_row_t pr;
    int rc = pending_lookup(st, scope, client_id, owner, &pr, err);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        if (resuming)
            return 0;
        return err_set(err, ERR_NO_PENDING, "no pending export with clientId %s", client_id);
    }
    bool persisted = strcmp(pr.state, "persisted") == 0;
    free(pr.result);
    if (persisted)
        return 0;
    plan_t p = {.st = st, .scope = scope};
    if (index_begin_read(st->ix) != 0)
        return err_set(err, ERR_INTERNAL, "index busy");
    rc = plan_load(&p, client_id, err);
    if (rc == 0)
        rc = plan_merge(&p, err);
    index_rollback(st->ix);
    plan_free_keep(&p, rc == 0);
    return rc;
}

int export_persist(store_t *st, const scope_row_t *scope, const char *client_id,
                   const char *owner, json_t **ids, err_t *err)
{
    *ids = NULL;
    plan_t p = {.st = st, .scope = scope};
    /* the write lock is held from reading the scope's state to committing the merge, so that
     * concurrent exports to one scope are serialized */
    if (index_begin(st->ix) != 0)
        return err_set(err, ERR_INTERNAL, "index busy");
    pending_row_t pr;
    int rc = pending_lookup(st, scope, client_id, owner, &pr, err);
    if (rc == 1)
        rc = err_set(err, ERR_NO_PENDING, "no pending export with clientId %s", client_id);
    if (rc == 0 && strcmp(pr.state, "persisted") == 0) {
        *ids = json_loads(pr.result ? pr.result : "[]", 0, NULL);
        free(pr.result);
        index_rollback(st->ix);
        return *ids ? 0 : err_set(err, ERR_INTERNAL, "stored export result is unreadable");
    }
    if (rc == 0)
        free(pr.result);
    if (rc == 0)
        rc = plan_load(&p, client_id, err);
    if (rc == 0)
        rc = plan_merge(&p, err);
    if (rc == 0)
        rc = write_components(&p, err);
    if (rc == 0)
        rc = plan_write(&p, client_id, err);
    if (rc == 0 && index_commit(st->ix) != 0)
        rc = err_set(err, ERR_INTERNAL, "cannot commit the export: %s", index_errmsg(st->ix));
    if (rc != 0) {
        index_rollback(st->ix);
        plan_free(&p);
        return -1;
    }
    *ids = json_incref(p.ids);
    log_info("msg=\"export persisted\" scope=%s client_id=%s objects=%zu ids=%zu", scope->name,
             client_id, p.n, json_array_size(p.ids));
    plan_free(&p);
    return 0;
}

int export_remove_pending(store_t *st, const scope_row_t *scope, const char *client_id,
                          const char *owner, err_t *err)
{
    if (index_begin(st->ix) != 0)
        return err_set(err, ERR_INTERNAL, "index busy");
    pending_row_t pr;
    int rc = pending_lookup(st, scope, client_id, owner, &pr, err);
    if (rc == 0) {
        bool persisted = strcmp(pr.state, "persisted") == 0;
        free(pr.result);
        /* a persisted export keeps its result for retried ExportPersist calls */
        if (!persisted && index_pending_delete(st->ix, scope->id, client_id) != 0)
            rc = err_set(err, ERR_INTERNAL, "cannot remove the pending export");
    }
    if (rc < 0) {
        index_rollback(st->ix);
        return -1;
    }
    if (index_commit(st->ix) != 0)
        return err_set(err, ERR_INTERNAL, "cannot remove the pending export");
    return 0;
}
