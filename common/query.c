#include "query.h"

#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "refset.h"

/* More Versions than this in one log or graph answer is refused rather than built. */
#define QUERY_MAX_VERSIONS 50000

/* Looks id up in the scope: 0 found, -1 with ERR_COMPONENT_NOT_FOUND or another error. */
static int find_component(store_t *st, const scope_row_t *scope, const char *s, bit_id_t *id,
                          component_row_t *row, err_t *err)
{
    if (!s || !bit_id_parse(s, id)) {
        err_set(err, ERR_COMPONENT_NOT_FOUND, "component %.300s was not found", s ? s : "(null)");
        err_field(err, "id", json_string(s ? s : ""));
        return -1;
    }
    int rc = strcmp(id->scope, scope->name) ? 1 : index_component_get(st->ix, scope->id, id->name, row);
    if (rc < 0)
        return err_set(err, ERR_INTERNAL, "index read failed");
    if (rc == 1) {
        err_set(err, ERR_COMPONENT_NOT_FOUND, "component %s/%s was not found", id->scope, id->name);
        err_field(err, "id", json_string(s));
        return -1;
    }
    return 0;
}

/* A stored object of the scope, or NULL: absent (err untouched) or unreadable (err set). */
static json_t *load_object(store_t *st, const scope_row_t *scope, const char *ref, obj_type_t type,
                           err_t *err)
{
    int rc = index_object_get(st->ix, scope->id, ref, NULL);
    if (rc == 1)
        return NULL;
    if (rc < 0) {
        err_set(err, ERR_INTERNAL, "index read failed");
        return NULL;
    }
    return store_object_json(st, scope->id, ref, type, err);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* ---- getLogs */

static int date_cmp(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "date"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "date"));
    long long dx = x ? strtoll(x, NULL, 10) : 0, dy = y ? strtoll(y, NULL, 10) : 0;
    return (dx > dy) - (dx < dy);
}

static json_t *log_entry(const component_info_t *ci, const char *ref, json_t *v)
{
    json_t *log = json_object_get(v, "log");
    const char *tag = component_tag_of(ci, ref);
    json_t *date = json_object_get(log, "date");
    return json_pack("{s:o, s:o, s:o, s:o, s:s, s:o}", "message",
                     str_or_null(json_string_value(json_object_get(log, "message"))), "username",
                     str_or_null(json_string_value(json_object_get(log, "username"))), "email",
                     str_or_null(json_string_value(json_object_get(log, "email"))), "date",
                     json_is_string(date)   ? json_incref(date)
                     : json_is_number(date) ? json_sprintf("%.0f", json_number_value(date))
                                            : json_null(),
                     "hash", ref, "tag", str_or_null(tag));
}

/* Walks from the head through parents; every Version the scope holds gives one entry. */
static int log_from_head(store_t *st, const scope_row_t *scope, const component_info_t *ci,
                         json_t *entries, err_t *err)
{
    json_t *queue = json_pack("[s]", ci->head);
    refset_t seen;
    refset_init(&seen);
    refset_add(&seen, ci->head);
    int rc = 0;
    for (size_t qi = 0; rc == 0 && qi < json_array_size(queue); qi++) {
        const char *ref = json_string_value(json_array_get(queue, qi));
        json_t *v = load_object(st, scope, ref, OBJ_VERSION, err);
        if (!v) {
            rc = err->kind == ERR_NONE ? 0 : -1;
            continue;
        }
        json_array_append_new(entries, log_entry(ci, ref, v));
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(v, "parents"), i, p)
        {
            const char *pr = json_string_value(p);
            if (pr && is_ref40(pr, strlen(pr)) && refset_add(&seen, pr))
                json_array_append_new(queue, json_string(pr));
        }
        json_decref(v);
        if (json_array_size(queue) > QUERY_MAX_VERSIONS)
            rc = err_set(err, ERR_TOO_LARGE, "%s/%s has more than %d versions to list",
                         scope->name, ci->name, QUERY_MAX_VERSIONS);
    }
    refset_free(&seen);
    json_decref(queue);
    return rc;
}

int query_log(store_t *st, const scope_row_t *scope, const char *s, json_t **out, err_t *err)
{
    *out = NULL;
    bit_id_t id;
    component_row_t row;
    if (find_component(st, scope, s, &id, &row, err) != 0)
        return -1;
    json_t *c = store_object_json(st, scope->id, row.ref, OBJ_COMPONENT, err);
    if (!c)
        return -1;
    component_info_t ci;
    json_t *entries = json_array();
    int rc = component_info_parse(c, &ci, err);
    if (rc == 0 && ci.head) {
        rc = log_from_head(st, scope, &ci, entries, err);
    } else if (rc == 0) {
        const char *tag;
        json_t *r;
        json_object_foreach(ci.versions, tag, r)
        {
            json_t *v = rc ? NULL : load_object(st, scope, json_string_value(r), OBJ_VERSION, err);
            if (v)
                json_array_append_new(entries, log_entry(&ci, json_string_value(r), v));
            else if (err->kind != ERR_NONE)
                rc = -1;
            json_decref(v);
        }
    }
    json_decref(c);
    if (rc != 0) {
        json_decref(entries);
        return -1;
    }
    size_t n = json_array_size(entries);
    json_t **items = malloc((n ? n : 1) * sizeof *items);
    if (!items) {
        json_decref(entries);
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(entries, i);
    qsort(items, n, sizeof *items, date_cmp);
    *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(*out, items[i]);
    free(items);
    json_decref(entries);
    return 0;
}

/* ---- _legacyLatestVersions */

int query_latest_versions(store_t *st, const scope_row_t *scope, json_t *ids, json_t **out,
                          err_t *err)
{
    *out = NULL;
    if (!json_is_array(ids))
        return err_set(err, ERR_BAD_REQUEST, "ids must be a list of component ids");
    if (json_array_size(ids) > st->lim->max_fetch_ids)
        return err_set(err, ERR_TOO_LARGE, "more than %llu ids",
                       (unsigned long long)st->lim->max_fetch_ids);
    json_t *res = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        bit_id_t id;
        component_row_t row;
        if (find_component(st, scope, json_string_value(v), &id, &row, err) != 0) {
            json_decref(res);
            return -1;
        }
        json_array_append_new(res, json_sprintf("%s/%s@%s", id.scope, id.name, row.latest));
    }
    *out = res;
    return 0;
}

/* ---- _getLegacy */

/* The Version ref an id's version names: a tag, a hash the scope holds, or the latest. */
static int resolve_version(store_t *st, const scope_row_t *scope, const bit_id_t *id,
                           const component_row_t *row, char ref[REF_HEX], char *version,
                           size_t vlen)
{
    const char *want = id->version[0] ? id->version : row->latest;
    snprintf(version, vlen, "%s", want);
    if (!*want)
        return 1;
    if (is_ref40(want, strlen(want))) {
        memcpy(ref, want, REF_HEX); /* 40 hex digits and the NUL */
        return index_object_get(st->ix, scope->id, want, NULL);
    }
    return index_tag_get(st->ix, scope->id, id->name, want, ref);
}

/* Vinyl's JSON as the legacy client parses it back (SourceFile.loadFromParsedString). */
static json_t *legacy_file(store_t *st, const scope_row_t *scope, json_t *f, uint64_t *budget,
                           err_t *err)
{
    const char *ref = json_string_value(json_object_get(f, "file"));
    const char *path = json_string_value(json_object_get(f, "relativePath"));
    if (!ref || !path) {
        err_set(err, ERR_INTERNAL, "a stored Version has a file without a ref or path");
        return NULL;
    }
    obj_type_t type;
    buf_t payload;
    buf_init(&payload);
    int rc = store_object_load(st, scope->id, ref, &type, &payload, err);
    if (rc == 1)
        err_set(err, ERR_INTERNAL, "Source %s of a stored Version is missing", ref);
    /* Buffer.from() takes a string as UTF-8: text goes as one string, anything else as the
     * {type: "Buffer", data: [bytes]} JSON of a Node Buffer, which costs about 8 times more */
    json_t *contents = rc == 0 ? json_stringn((const char *)payload.data, payload.len) : NULL;
    uint64_t cost = contents ? payload.len : 8 * (uint64_t)payload.len;
    if (rc == 0 && cost > *budget)
        rc = err_set(err, ERR_TOO_LARGE, "the component's files are too large to show");
    if (rc != 0) {
        json_decref(contents);
        buf_free(&payload);
        return NULL;
    }
    *budget -= cost;
    if (!contents) {
        json_t *bytes = json_array();
        for (size_t i = 0; i < payload.len; i++)
            json_array_append_new(bytes, json_integer(payload.data[i]));
        contents = json_pack("{s:s, s:o}", "type", "Buffer", "data", bytes);
    }
    buf_free(&payload);
    json_t *o = json_pack("{s:n, s:o, s:[s], s:s, s:s, s:b, s:n, s:b, s:b, s:b}", "stat",
                          "_contents", contents, "history", path, "_cwd", "/",
                          "_base", ".", "_isVinyl", 1, "_symlink", "test",
                          json_is_true(json_object_get(f, "test")), "override", 1, "verbose", 0);
    if (!o)
        err_set(err, ERR_INTERNAL, "cannot build the file list");
    return o;
}

/* Dependencies as ConsumerComponent.toObject serializes them: ids as strings. */
static json_t *legacy_deps(json_t *deps)
{
    json_t *out = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(deps, i, d)
    {
        if (!json_is_object(d))
            continue;
        json_t *copy = json_deep_copy(d);
        json_t *id = json_object_get(d, "id");
        if (json_is_object(id)) {
            const char *sc = json_string_value(json_object_get(id, "scope"));
            const char *nm = json_string_value(json_object_get(id, "name"));
            const char *ver = json_string_value(json_object_get(id, "version"));
            json_object_set_new(copy, "id", json_sprintf("%s%s%s%s%s", sc ? sc : "", sc ? "/" : "",
                                                         nm ? nm : "", ver ? "@" : "",
                                                         ver ? ver : ""));
        }
        json_array_append_new(out, copy);
    }
    return out;
}

static json_t *or_default(json_t *v, json_t *dflt)
{
    if (v && !json_is_null(v)) {
        json_decref(dflt);
        return json_incref(v);
    }
    return dflt;
}

static json_t *legacy_object(store_t *st, const scope_row_t *scope, const component_info_t *ci,
                             const component_row_t *row, const char *version, json_t *v,
                             err_t *err)
{
    json_t *files = json_array();
    /* the reply is JSON held in memory, like a request body: the same bound */
    uint64_t budget = st->lim->max_json_body;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(v, "files"), i, f)
    {
        json_t *lf = legacy_file(st, scope, f, &budget, err);
        if (!lf) {
            json_decref(files);
            return NULL;
        }
        json_array_append_new(files, lf);
    }
    const char *binding = json_string_value(json_object_get(v, "bindingPrefix"));
    if (!binding)
        binding = json_string_value(json_object_get(ci->json, "bindingPrefix"));
    const char *lang = json_string_value(json_object_get(ci->json, "lang"));
    json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:n, s:n}", "name", ci->name, "version",
                          version, "mainFile", or_default(json_object_get(v, "mainFile"), json_null()),
                          "scope", scope->name, "lang", lang ? lang : "javascript", "bindingPrefix",
                          str_or_null(binding), "compiler", "tester");
    if (!o) {
        json_decref(files);
        err_set(err, ERR_INTERNAL, "cannot build the component");
        return NULL;
    }
    json_object_set_new(o, "dependencies", legacy_deps(json_object_get(v, "dependencies")));
    json_object_set_new(o, "devDependencies", legacy_deps(json_object_get(v, "devDependencies")));
    json_t *src = json_object_get(v, "extensions");
    json_t *exts = json_is_array(src) ? json_deep_copy(src) : json_array();
    json_array_foreach(exts, i, f)
    {
        json_t *eid = json_object_get(f, "extensionId");
        if (json_is_object(eid)) {
            const char *sc = json_string_value(json_object_get(eid, "scope"));
            const char *nm = json_string_value(json_object_get(eid, "name"));
            const char *ver = json_string_value(json_object_get(eid, "version"));
            json_object_set_new(f, "extensionId",
                                json_sprintf("%s%s%s%s%s", sc ? sc : "", sc ? "/" : "", nm ? nm : "",
                                             ver ? "@" : "", ver ? ver : ""));
        }
    }
    json_object_set_new(o, "extensions", exts);
    static const char *const maps[] = {"packageDependencies", "devPackageDependencies",
                                       "peerPackageDependencies", "compilerPackageDependencies",
                                       "testerPackageDependencies", "overrides"};
    for (size_t m = 0; m < sizeof maps / sizeof *maps; m++)
        json_object_set_new(o, maps[m], or_default(json_object_get(v, maps[m]), json_object()));
    json_object_set_new(o, "manuallyRemovedDependencies", json_object());
    json_object_set_new(o, "manuallyAddedDependencies", json_object());
    json_object_set_new(o, "files", files);
    json_object_set_new(o, "docs", or_default(json_object_get(v, "docs"), json_array()));
    json_object_set_new(o, "dists", json_pack("{s:[], s:b, s:b, s:b}", "dists", "writeDistsFiles", 1,
                                              "areDistsInsideComponentDir", 1,
                                              "distEntryShouldBeStripped", 0));
    json_object_set_new(o, "specsResults", json_null());
    json_object_set_new(o, "license", json_null());
    json_object_set_new(o, "log", or_default(json_object_get(v, "log"), json_null()));
    json_object_set_new(o, "deprecated", json_boolean(row->deprecated));
    json_t *schema = json_object_get(v, "schema");
    if (json_is_string(schema))
        json_object_set(o, "schema", schema);
    return o;
}

int query_legacy_component(store_t *st, const scope_row_t *scope, const char *s, char **out,
                           err_t *err)
{
    *out = NULL;
    bit_id_t id;
    component_row_t row;
    if (find_component(st, scope, s, &id, &row, err) != 0) {
        if (err->kind != ERR_COMPONENT_NOT_FOUND)
            return -1;
        err_clear(err); /* not found is a null answer, not an error */
        return 0;
    }
    char ref[REF_HEX], version[NAME_MAX_LEN];
    int rc = resolve_version(st, scope, &id, &row, ref, version, sizeof version);
    if (rc != 0)
        return rc < 0 ? err_set(err, ERR_INTERNAL, "index read failed") : 0;
    json_t *c = store_object_json(st, scope->id, row.ref, OBJ_COMPONENT, err);
    json_t *v = c ? load_object(st, scope, ref, OBJ_VERSION, err) : NULL;
    component_info_t ci;
    json_t *o = NULL;
    if (v && component_info_parse(c, &ci, err) == 0)
        o = legacy_object(st, scope, &ci, &row, version, v, err);
    json_decref(v);
    json_decref(c);
    if (!o)
        return err->kind == ERR_NONE ? 0 : -1;
    *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return *out ? 0 : err_set(err, ERR_INTERNAL, "out of memory");
}

/* ---- graph */

/* The graph of Bit's scope host (GraphBuilder over buildOneGraphForComponentsUsingScope): the
 * given component versions, or the latest of every component, and every component version
 * their dependencies reach; an edge per direct dependency. */
typedef struct {
    store_t *st;
    const scope_row_t *scope;
    json_t *nodes, *edges;
    json_t *seen;  /* node ids */
    json_t *queue; /* [name, version, ref] of this scope's versions still to expand */
    bool runtime_only;
} graph_t;

static json_t *graph_id(const char *scope, const char *name, const char *version)
{
    return json_sprintf("%s/%s%s%s", scope, name, version[0] ? "@" : "", version);
}

/* Adds the node once; a version this scope holds is queued for its own dependencies. */
static int graph_node(graph_t *g, const char *scope, const char *name, const char *version,
                      err_t *err)
{
    json_t *id = graph_id(scope, name, version);
    const char *key = json_string_value(id);
    if (json_object_get(g->seen, key)) {
        json_decref(id);
        return 0;
    }
    json_object_set_new(g->seen, key, json_true());
    json_array_append_new(g->nodes, json_pack("{s:O, s:{s:{s:s, s:s, s:s}}}", "id", id,
                                              "component", "id", "name", name, "version", version,
                                              "scope", scope));
    json_decref(id);
    bit_id_t b = {{0}, {0}, {0}};
    component_row_t row;
    char ref[REF_HEX], label[NAME_MAX_LEN];
    if (strcmp(scope, g->scope->name) || !version[0])
        return 0;
    snprintf(b.scope, sizeof b.scope, "%s", scope);
    snprintf(b.name, sizeof b.name, "%s", name);
    snprintf(b.version, sizeof b.version, "%s", version);
    int rc = index_component_get(g->st->ix, g->scope->id, name, &row);
    if (rc == 0)
        rc = resolve_version(g->st, g->scope, &b, &row, ref, label, sizeof label);
    if (rc < 0)
        return err_set(err, ERR_INTERNAL, "index read failed");
    if (rc == 0)
        json_array_append_new(g->queue, json_pack("[s, s, s]", name, version, ref));
    if (json_array_size(g->queue) > QUERY_MAX_VERSIONS)
        return err_set(err, ERR_TOO_LARGE, "more than %d versions to graph", QUERY_MAX_VERSIONS);
    return 0;
}

/* A dependency's id: a "scope/name@version" string (old Versions) or a ComponentID object. */
static bool dep_id(json_t *id, dep_t *t)
{
    memset(t, 0, sizeof *t);
    if (json_is_string(id)) {
        bit_id_t b;
        if (!bit_id_parse(json_string_value(id), &b))
            return false;
        memcpy(t->scope, b.scope, sizeof t->scope);
        memcpy(t->name, b.name, sizeof t->name);
        memcpy(t->version, b.version, sizeof t->version);
        return true;
    }
    const char *sc = json_string_value(json_object_get(id, "scope"));
    const char *nm = json_string_value(json_object_get(id, "name"));
    const char *ver = json_string_value(json_object_get(id, "version"));
    if (!sc || !nm || strlen(sc) >= NAME_MAX_LEN || strlen(nm) >= NAME_MAX_LEN ||
        (ver && strlen(ver) >= NAME_MAX_LEN))
        return false;
    strcpy(t->scope, sc);
    strcpy(t->name, nm);
    strcpy(t->version, ver ? ver : "");
    return true;
}

static int graph_edges(graph_t *g, json_t *source, json_t *deps, const char *type, err_t *err)
{
    size_t i;
    json_t *d;
    json_array_foreach(deps, i, d)
    {
        dep_t t;
        if (!dep_id(json_object_get(d, "id"), &t))
            continue;
        if (graph_node(g, t.scope, t.name, t.version, err) != 0)
            return -1;
        json_array_append_new(g->edges, json_pack("{s:O, s:o, s:s}", "sourceId", source,
                                                  "targetId", graph_id(t.scope, t.name, t.version),
                                                  "dependencyLifecycleType", type));
    }
    return 0;
}

static int graph_expand(graph_t *g, json_t *item, err_t *err)
{
    const char *name = json_string_value(json_array_get(item, 0));
    const char *version = json_string_value(json_array_get(item, 1));
    json_t *v = load_object(g->st, g->scope, json_string_value(json_array_get(item, 2)),
                            OBJ_VERSION, err);
    if (!v)
        return err->kind == ERR_NONE ? 0 : -1;
    json_t *source = graph_id(g->scope->name, name, version);
    int rc = graph_edges(g, source, json_object_get(v, "dependencies"), "RUNTIME", err);
    if (rc == 0 && !g->runtime_only)
        rc = graph_edges(g, source, json_object_get(v, "devDependencies"), "DEV", err);
    if (rc == 0)
        rc = graph_edges(g, source, json_object_get(v, "peerDependencies"), "PEER", err);
    json_decref(source);
    json_decref(v);
    return rc;
}

static int collect_latest(void *ctx, const component_row_t *c)
{
    if (c->latest[0])
        json_array_append_new(ctx, json_pack("[s, s]", c->name, c->latest));
    return 0;
}

/* The seeds: [name, version] of each id (a missing version is the latest), or of every
 * component when ids is empty. */
static json_t *graph_seeds(store_t *st, const scope_row_t *scope, json_t *ids, err_t *err)
{
    json_t *seeds = json_array();
    if (json_array_size(ids) == 0) {
        if (index_component_each(st->ix, scope->id, collect_latest, seeds) == 0)
            return seeds;
        json_decref(seeds);
        err_set(err, ERR_INTERNAL, "index read failed");
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        bit_id_t id;
        component_row_t row;
        if (find_component(st, scope, json_string_value(v), &id, &row, err) != 0) {
            json_decref(seeds);
            return NULL;
        }
        json_array_append_new(seeds, json_pack("[s, s]", id.name,
                                               id.version[0] ? id.version : row.latest));
    }
    return seeds;
}

int query_graph(store_t *st, const scope_row_t *scope, json_t *ids, const char *filter,
                json_t **out, err_t *err)
{
    *out = NULL;
    json_t *list = json_is_string(ids) ? json_pack("[O]", ids) : json_incref(ids);
    if (list && !json_is_array(list) && !json_is_null(list)) {
        json_decref(list);
        return err_set(err, ERR_BAD_REQUEST, "ids must be a list of component ids");
    }
    if (json_array_size(list) > st->lim->max_fetch_ids) {
        json_decref(list);
        return err_set(err, ERR_TOO_LARGE, "more than %llu ids",
                       (unsigned long long)st->lim->max_fetch_ids);
    }
    json_t *seeds = graph_seeds(st, scope, list, err);
    json_decref(list);
    if (!seeds)
        return -1;
    graph_t g = {st, scope, json_array(), json_array(), json_object(), json_array(),
                 filter && !strcmp(filter, "runtimeOnly")};
    int rc = 0;
    size_t i;
    json_t *s;
    json_array_foreach(seeds, i, s)
    {
        if (rc == 0)
            rc = graph_node(&g, scope->name, json_string_value(json_array_get(s, 0)),
                            json_string_value(json_array_get(s, 1)), err);
    }
    for (i = 0; rc == 0 && i < json_array_size(g.queue); i++)
        rc = graph_expand(&g, json_array_get(g.queue, i), err);
    json_decref(seeds);
    json_decref(g.seen);
    json_decref(g.queue);
    if (rc != 0) {
        json_decref(g.nodes);
        json_decref(g.edges);
        return -1;
    }
    *out = json_pack("{s:o, s:o}", "nodes", g.nodes, "edges", g.edges);
    return 0;
}
