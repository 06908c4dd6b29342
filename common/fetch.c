#include "fetch.h"

#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "lane.h"
#include "model.h"

void fetch_list_init(fetch_list_t *l)
{
    memset(l, 0, sizeof *l);
    refset_init(&l->seen);
}

void fetch_list_free(fetch_list_t *l)
{
    free(l->items);
    refset_free(&l->seen);
    memset(l, 0, sizeof *l);
}

static bool opt_bool(json_t *o, const char *key, bool dflt)
{
    json_t *v = json_object_get(o, key);
    return v && json_is_boolean(v) ? json_is_true(v) : dflt;
}

int fetch_parse_request(json_t *body, bool modern, uint64_t max_ids, json_t **ids,
                        fetch_opts_t *opts, err_t *err)
{
    memset(opts, 0, sizeof *opts);
    opts->modern = modern;
    if (!json_is_object(body))
        return err_set(err, ERR_BAD_REQUEST, "fetch body must be a JSON object");
    *ids = json_object_get(body, "ids");
    if (!json_is_array(*ids))
        return err_set(err, ERR_BAD_REQUEST, "fetch body needs an \"ids\" array");
    if (json_array_size(*ids) > max_ids)
        return err_set(err, ERR_TOO_LARGE, "more than %llu ids in one fetch",
                       (unsigned long long)max_ids);
    size_t i;
    json_t *id;
    json_array_foreach(*ids, i, id)
    {
        if (!json_is_string(id) || json_string_length(id) > 3 * NAME_MAX_LEN)
            return err_set(err, ERR_BAD_REQUEST, "fetch ids must be strings");
    }
    json_t *fo = json_object_get(body, "fetchOptions");
    if (fo && !json_is_object(fo))
        return err_set(err, ERR_BAD_REQUEST, "fetchOptions must be an object");
    const char *type = json_string_value(json_object_get(fo, "type"));
    if (!type || !strcmp(type, "component"))
        opts->type = FETCH_COMPONENT;
    else if (!strcmp(type, "component-delta"))
        opts->type = FETCH_DELTA;
    else if (!strcmp(type, "object"))
        opts->type = FETCH_OBJECT;
    else if (!strcmp(type, "lane"))
        opts->type = FETCH_LANE;
    else
        return err_set(err, ERR_BAD_REQUEST, "unknown fetch type \"%.64s\"", type);
    if (opt_bool(fo, "returnNothingIfGivenVersionExists", false) && opts->type == FETCH_COMPONENT)
        opts->type = FETCH_DELTA;
    opts->return_nothing_if_current = opts->type == FETCH_DELTA;
    const char *schema = json_string_value(json_object_get(fo, "fetchSchema"));
    bool without_deps = opt_bool(fo, "withoutDependencies", false);
    bool include_deps = opt_bool(fo, "includeDependencies", false);
    if (schema && strcmp(schema, "0.0.2") >= 0) {
        opts->with_history = opt_bool(fo, "collectParents", false);
        opts->with_deps = include_deps;
    } else {
        /* the old server: without withoutDependencies, dependencies and the full history */
        opts->with_history = opts->type == FETCH_DELTA || !without_deps;
        opts->with_deps = !without_deps || include_deps;
    }
    opts->include_artifacts = opt_bool(fo, "includeArtifacts", false);
    opts->ignore_missing_head = opt_bool(fo, "ignoreMissingHead", false);
    opts->include_version_history = modern && opt_bool(fo, "includeVersionHistory", false);
    opts->only_if_built = opt_bool(fo, "onlyIfBuilt", false);
    opts->prefer_dependency_graph = opt_bool(fo, "preferDependencyGraph", false);
    opts->allow_external = opt_bool(fo, "allowExternal", false);
    opts->include_lane_history = opt_bool(fo, "includeLaneHistory", false);
    const char *lane = json_string_value(json_object_get(fo, "laneId"));
    if (lane) {
        const char *name = lane_id_name(lane);
        if (!name)
            return err_set(err, ERR_BAD_REQUEST, "invalid laneId");
        snprintf(opts->lane, sizeof opts->lane, "%s", name);
    }
    return 0;
}

typedef struct {
    store_t *st;
    const scope_row_t *scope;
    const fetch_opts_t *o;
    fetch_list_t *out;
    err_t *err;
    int failed;
    json_t *lane; /* laneId's Lane, when it exists */
} fetch_ctx_t;

static void add_row(fetch_ctx_t *c, const char *ref, const object_row_t *row);

/* Adds a stored object of the scope; missing ones are left out (the client reports them). */
static void add_object(fetch_ctx_t *c, const char *ref)
{
    if (c->failed || refset_has(&c->out->seen, ref))
        return;
    object_row_t row;
    int rc = index_object_get(c->st->ix, c->scope->id, ref, &row);
    if (rc != 0) {
        if (rc < 0)
            c->failed = err_set(c->err, ERR_INTERNAL, "index read failed");
        return;
    }
    add_row(c, ref, &row);
}

static void add_row(fetch_ctx_t *c, const char *ref, const object_row_t *row)
{
    if (c->failed || refset_has(&c->out->seen, ref))
        return;
    if (!c->o->modern && obj_type_modern_only(row->type))
        return;
    fetch_list_t *l = c->out;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        fetch_item_t *p = realloc(l->items, cap * sizeof *p);
        if (!p) {
            c->failed = err_set(c->err, ERR_INTERNAL, "out of memory");
            return;
        }
        l->items = p;
        l->cap = cap;
    }
    if (refset_add_checked(&l->seen, ref) < 0) {
        c->failed = err_set(c->err, ERR_INTERNAL, "out of memory");
        return;
    }
    fetch_item_t *it = &l->items[l->n++];
    memcpy(it->ref, ref, REF_HEX);
    memcpy(it->blob, row->blob, BLOB_HEX);
    it->size = row->size;
    it->type = row->type;
}

/* The objects a Version refers to by kind, with their blobs from the same query. */
static void add_version_refs(fetch_ctx_t *c, const char *ref, int kind)
{
    vref_object_t *objs;
    size_t n;
    if (index_version_objects(c->st->ix, c->scope->id, ref, kind, &objs, &n) != 0) {
        c->failed = err_set(c->err, ERR_INTERNAL, "index read failed");
        return;
    }
    for (size_t i = 0; i < n; i++)
        add_row(c, objs[i].ref, &objs[i].row);
    free(objs);
}

/* A Version with what it needs: its Sources first, then itself. */
static void add_version(fetch_ctx_t *c, const char *ref)
{
    if (refset_has(&c->out->seen, ref))
        return;
    add_version_refs(c, ref, VREF_SOURCE);
    if (c->o->include_artifacts)
        add_version_refs(c, ref, VREF_ARTIFACT);
    add_object(c, ref);
}

/* Every ancestor of `from` through the parents in the index, stopping at `stop`. */
static void add_history(fetch_ctx_t *c, const char *from, const char *stop)
{
    refqueue_t w;
    refqueue_init(&w);
    if (stop)
        refset_add(&w.seen, stop);
    refqueue_push(&w, from);
    for (size_t i = 0; i < w.n; i++)
        index_version_ref_each(c->st->ix, c->scope->id, w.refs[i], VREF_PARENT, refqueue_push, &w);
    /* oldest first, as Bit sends ancestors before the version they lead to */
    for (size_t i = w.n; i-- > 0;)
        add_version(c, w.refs[i]);
    refqueue_free(&w);
}

static int add_tag_version_cb(void *ctx, const char *tag, const char *version)
{
    (void)tag;
    add_version(ctx, version);
    return 0;
}

/* Resolves name@version in this scope to a Version ref. 1 when it does not resolve. */
static int resolve(fetch_ctx_t *c, const component_row_t *row, const char *version,
                   char out[REF_HEX])
{
    if (!version[0]) {
        if (row->head[0]) {
            memcpy(out, row->head, REF_HEX);
            return 0;
        }
        version = row->latest;
        if (!version[0])
            return 1;
    }
    if (is_ref40(version, strlen(version))) {
        memcpy(out, version, REF_HEX);
        return index_object_get(c->st->ix, c->scope->id, out, NULL) == 0 ? 0 : 1;
    }
    return index_tag_get(c->st->ix, c->scope->id, row->name, version, out) == 0 ? 0 : 1;
}

static void add_component_version(fetch_ctx_t *c, const component_row_t *row, const char *vref,
                                  bool history, const char *stop);

static int add_dep_cb(void *ctx, const char *dscope, const char *dname, const char *dversion)
{
    fetch_ctx_t *c = ctx;
    if (strcmp(dscope, c->scope->name) != 0)
        return 0; /* another scope's component: the client asks that scope */
    component_row_t row;
    char vref[REF_HEX];
    if (index_component_get(c->st->ix, c->scope->id, dname, &row) != 0 ||
        resolve(c, &row, dversion, vref) != 0)
        return 0;
    if (c->o->only_if_built) {
        char status[32];
        if (index_version_build_status(c->st->ix, c->scope->id, vref, status, sizeof status) == 0 &&
            status[0] && strcmp(status, "succeed") && strcmp(status, "skipped"))
            return 0;
    }
    add_component_version(c, &row, vref, false, NULL);
    return 0;
}

static void add_component_version(fetch_ctx_t *c, const component_row_t *row, const char *vref,
                                  bool history, const char *stop)
{
    add_object(c, row->ref);
    if (c->o->include_version_history) {
        char vh[REF_HEX];
        history_ref(c->scope->name, row->name, vh);
        add_object(c, vh);
    }
    if (history) {
        /* legacy components have no parents: their history is every tag */
        if (!c->o->return_nothing_if_current)
            index_tag_each(c->st->ix, c->scope->id, row->name, add_tag_version_cb, c);
        add_history(c, vref, stop);
    } else {
        add_version(c, vref);
    }
}

static int found_cb(void *ctx, const char *ref)
{
    (void)ref;
    *(bool *)ctx = true;
    return 1;
}

/* A Version with its dependency graph lets the client resolve dependencies itself. */
static bool has_depgraph(fetch_ctx_t *c, const char *vref)
{
    bool found = false;
    index_version_ref_each(c->st->ix, c->scope->id, vref, VREF_DEPGRAPH, found_cb, &found);
    return found;
}

/* A component the scope holds only as an object: a lane-only one, or another scope's that a
 * lane brought. */
static bool object_only_row(fetch_ctx_t *c, const bit_id_t *id, component_row_t *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", id->name);
    sha1_hex3(id->scope, "/", id->name, row->ref);
    object_row_t o;
    return index_object_get(c->st->ix, c->scope->id, row->ref, &o) == 0 && o.type == OBJ_COMPONENT;
}

static void collect_component(fetch_ctx_t *c, const char *idstr)
{
    bit_id_t id;
    if (!bit_id_parse(idstr, &id))
        return;
    bool own = !strcmp(id.scope, c->scope->name);
    if (!own && !c->o->allow_external)
        return;
    /* on a lane, the component's head is the lane's entry */
    const char *on_lane = c->lane ? lane_head(c->lane, id.scope, id.name) : NULL;
    if (on_lane && !is_ref40(on_lane, strlen(on_lane)))
        on_lane = NULL;
    component_row_t row;
    if ((!own || index_component_get(c->st->ix, c->scope->id, id.name, &row) != 0) &&
        !object_only_row(c, &id, &row))
        return;
    char vref[REF_HEX];
    const char *stop = NULL;
    if (c->o->type == FETCH_DELTA) {
        /* the id's version is what the client has: send what leads from it to the head */
        if (on_lane)
            memcpy(vref, on_lane, REF_HEX);
        else if (resolve(c, &row, "", vref) != 0)
            return;
        if (id.version[0] && strcmp(id.version, vref) == 0)
            return;
        stop = id.version[0] ? id.version : NULL;
    } else if (!id.version[0] && on_lane) {
        memcpy(vref, on_lane, REF_HEX);
    } else if (!id.version[0] && !row.head[0] && c->o->ignore_missing_head && c->o->modern) {
        return; /* a lane-only component: no head on main */
    } else if (resolve(c, &row, id.version, vref) != 0) {
        return;
    }
    if (index_object_get(c->st->ix, c->scope->id, vref, NULL) != 0)
        return; /* a Version the scope does not hold is skipped, as Bit does */
    add_component_version(c, &row, vref, c->o->with_history, stop);
    if (c->o->with_deps && !(c->o->prefer_dependency_graph && has_depgraph(c, vref)))
        index_version_dep_each(c->st->ix, c->scope->id, vref, add_dep_cb, c);
}

int fetch_collect(store_t *st, const scope_row_t *scope, json_t *ids, const fetch_opts_t *o,
                  fetch_list_t *out, err_t *err)
{
    fetch_ctx_t c = {st, scope, o, out, err, 0, NULL};
    if (index_begin_read(st->ix) != 0)
        return err_set(err, ERR_INTERNAL, "index busy");
    size_t i;
    json_t *id;
    if (o->type == FETCH_LANE) {
        json_array_foreach(ids, i, id)
        {
            const char *name = lane_id_name(json_string_value(id));
            char ref[REF_HEX];
            json_t *lane = name ? lane_load(st, scope, name, ref, err) : NULL;
            if (!lane) {
                if (!name)
                    err_set(err, ERR_BAD_REQUEST, "invalid lane id");
                index_rollback(st->ix);
                return -1; /* before the reply starts: the client gets code 138 */
            }
            json_decref(lane);
            add_object(&c, ref);
            if (o->include_lane_history) {
                char lh[REF_HEX];
                lane_history_ref(ref, lh);
                add_object(&c, lh);
            }
        }
    } else if (o->type == FETCH_OBJECT) {
        json_array_foreach(ids, i, id)
        {
            const char *ref = json_string_value(id);
            if (is_ref40(ref, strlen(ref)))
                add_object(&c, ref);
        }
    } else {
        if (o->lane[0]) {
            char ref[REF_HEX];
            err_t ignore;
            err_init(&ignore);
            c.lane = lane_load(st, scope, o->lane, ref, &ignore); /* absent: ids resolve on main */
            err_clear(&ignore);
        }
        json_array_foreach(ids, i, id)
        {
            collect_component(&c, json_string_value(id));
        }
        /* the scope's ScopeMeta leads a reply that found anything; an empty reply stays empty */
        if (out->n > 0 && !c.failed) {
            char meta[REF_HEX];
            sha1_hex3(scope->name, NULL, NULL, meta);
            size_t before = out->n;
            add_object(&c, meta);
            if (out->n > before) {
                fetch_item_t m = out->items[out->n - 1];
                memmove(out->items + 1, out->items, (out->n - 1) * sizeof *out->items);
                out->items[0] = m;
            }
        }
    }
    index_rollback(st->ix);
    json_decref(c.lane);
    return c.failed ? -1 : 0;
}
