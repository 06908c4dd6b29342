/* POST /<scope>/graphql: the documents Bit's CLI sends (protocol.md §5), parsed for real and
 * answered field by field; an unknown field is a validation error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "deprecate.h"
#include "graphql.h"
#include "lane.h"
#include "log.h"
#include "model.h"
#include "namepattern.h"
#include "query.h"

typedef struct {
    req_t *r;
    store_t st;
    gql_doc_t *doc;
    json_t *errors;
} gq_t;

static void gq_error(gq_t *g, const gql_field_t *f, const char *fmt, const char *a, const char *b)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a, b);
    json_array_append_new(g->errors, json_pack("{s:s, s:[{s:i, s:i}]}", "message", msg,
                                               "locations", "line", (int)f->line, "column",
                                               (int)f->col));
}

/* ---- the schema: what may be asked, checked for the whole document before anything runs */

typedef struct gq_type gq_type_t;
typedef struct {
    const char *name;
    const gq_type_t *type;    /* NULL: a scalar */
    const char *const *args; /* NULL-terminated */
} gq_field_def_t;
struct gq_type {
    const char *name;
    const gq_field_def_t *fields; /* terminated by a NULL name */
};

static const char *const no_args[] = {NULL};
static const char *const ns_args[] = {"namespaces", NULL};
static const char *const list_args[] = {"namespaces", "includeDeleted", NULL};
static const char *const include_args[] = {"include", NULL};
static const char *const id_args[] = {"id", NULL};
static const char *const ids_args[] = {"ids", NULL};
static const char *const graph_args[] = {"ids", "filter", NULL};
static const char *const bit_ids_args[] = {"bitIds", NULL};

static const gq_type_t t_legacy_meta = {
    "LegacyMeta", (const gq_field_def_t[]){{"id", NULL, no_args}, {"deprecated", NULL, no_args}, {0}}};
static const gq_type_t t_component_id = {
    "ComponentID", (const gq_field_def_t[]){{"scope", NULL, no_args},
                                            {"version", NULL, no_args},
                                            {"name", NULL, no_args},
                                            {0}}};
static const gq_type_t t_deprecation = {
    "DeprecationInfo", (const gq_field_def_t[]){{"isDeprecate", NULL, no_args}, {0}}};
static const gq_type_t t_aspect = {
    "Aspect", (const gq_field_def_t[]){{"id", NULL, no_args}, {"config", NULL, no_args}, {0}}};
static const gq_type_t t_component = {
    "Component", (const gq_field_def_t[]){{"id", &t_component_id, no_args},
                                          {"deprecation", &t_deprecation, no_args},
                                          {"aspects", &t_aspect, include_args},
                                          {0}}};
static const gq_type_t t_log_entry = {
    "LogEntry", (const gq_field_def_t[]){{"message", NULL, no_args},
                                         {"username", NULL, no_args},
                                         {"email", NULL, no_args},
                                         {"date", NULL, no_args},
                                         {"hash", NULL, no_args},
                                         {"tag", NULL, no_args},
                                         {0}}};
static const gq_type_t t_scope = {
    "Scope", (const gq_field_def_t[]){{"name", NULL, no_args},
                                      {"_legacyList", &t_legacy_meta, ns_args},
                                      {"components", &t_component, list_args},
                                      {"getLogs", &t_log_entry, id_args},
                                      {"_legacyLatestVersions", NULL, ids_args},
                                      {"_getLegacy", NULL, id_args},
                                      {0}}};
static const gq_type_t t_lane_id = {
    "LaneId", (const gq_field_def_t[]){{"name", NULL, no_args}, {"scope", NULL, no_args}, {0}}};
static const gq_type_t t_lane = {
    "Lane", (const gq_field_def_t[]){{"id", &t_lane_id, no_args},
                                     {"laneComponentIds", &t_component_id, no_args},
                                     {0}}};
static const gq_type_t t_lanes = {"Lanes",
                                  (const gq_field_def_t[]){{"list", &t_lane, ids_args}, {0}}};
static const gq_type_t t_graph_component = {
    "Component", (const gq_field_def_t[]){{"id", &t_component_id, no_args}, {0}}};
static const gq_type_t t_graph_node = {
    "ComponentGraphNode", (const gq_field_def_t[]){{"id", NULL, no_args},
                                                   {"component", &t_graph_component, no_args},
                                                   {0}}};
static const gq_type_t t_graph_edge = {
    "ComponentGraphEdge", (const gq_field_def_t[]){{"sourceId", NULL, no_args},
                                                   {"targetId", NULL, no_args},
                                                   {"dependencyLifecycleType", NULL, no_args},
                                                   {0}}};
static const gq_type_t t_graph = {
    "ComponentGraph", (const gq_field_def_t[]){{"nodes", &t_graph_node, no_args},
                                               {"edges", &t_graph_edge, no_args},
                                               {0}}};
static const gq_type_t t_query = {"Query",
                                  (const gq_field_def_t[]){{"scope", &t_scope, no_args},
                                                           {"graph", &t_graph, graph_args},
                                                           {"lanes", &t_lanes, no_args},
                                                           {0}}};
static const gq_type_t t_deprecation_result = {
    "DeprecationResult", (const gq_field_def_t[]){{"bitIds", NULL, no_args},
                                                  {"missingComponents", NULL, no_args},
                                                  {0}}};
static const gq_type_t t_mutation = {
    "Mutation", (const gq_field_def_t[]){{"deprecate", &t_deprecation_result, bit_ids_args},
                                         {"undeprecate", &t_deprecation_result, bit_ids_args},
                                         {0}}};

/* The mid-January 2021 client sent deprecate(bitIds: $bitIds) without a selection. */
static bool selection_optional(const gq_field_def_t *def)
{
    return def->type == &t_deprecation_result;
}

static void gq_validate(gq_t *g, const gql_field_t *const *fields, size_t n, const gq_type_t *type)
{
    for (size_t i = 0; i < n; i++) {
        const gql_field_t *f = fields[i];
        if (!strcmp(f->name, "__typename")) {
            if (f->has_selection)
                gq_error(g, f, "Field \"%s\" must not have a selection since type \"%s\" has no "
                         "subfields.", f->name, "String");
            continue;
        }
        const gq_field_def_t *def = type->fields;
        while (def->name && strcmp(def->name, f->name))
            def++;
        if (!def->name) {
            gq_error(g, f, "Cannot query field \"%s\" on type \"%s\".", f->name, type->name);
            continue;
        }
        for (size_t a = 0; a < f->nargs; a++) {
            const char *const *known = def->args;
            while (*known && strcmp(*known, f->args[a].name))
                known++;
            if (!*known)
                gq_error(g, f, "Unknown argument \"%s\" on field \"%s\".", f->args[a].name,
                         f->name);
        }
        if (def->type && !f->has_selection && !selection_optional(def))
            gq_error(g, f, "Field \"%s\" of type \"%s\" must have a selection of subfields.",
                     f->name, def->type->name);
        else if (!def->type && f->has_selection)
            gq_error(g, f, "Field \"%s\" must not have a selection since type \"%s\" has no "
                     "subfields.", f->name, "String");
        else if (def->type && f->has_selection)
            gq_validate(g, (const gql_field_t *const *)f->fields, f->nfields, def->type);
    }
}

static void unknown_field(gq_t *g, const gql_field_t *f, const char *type)
{
    gq_error(g, f, "Cannot query field \"%s\" on type \"%s\".", f->name, type);
}

/* Answers a selection over a JSON object: each selected field must be a known key. */
static json_t *select_object(gq_t *g, const gql_field_t *sel, json_t *obj, const char *type)
{
    if (!json_is_object(obj) || !sel->has_selection)
        return json_incref(obj);
    json_t *out = json_object();
    for (size_t i = 0; i < sel->nfields; i++) {
        const gql_field_t *f = sel->fields[i];
        if (!strcmp(f->name, "__typename")) {
            json_object_set_new(out, gql_field_key(f), json_string(type));
            continue;
        }
        json_t *v = json_object_get(obj, f->name);
        if (!v) {
            unknown_field(g, f, type);
            continue;
        }
        json_t *val;
        if (json_is_array(v)) {
            val = json_array();
            size_t j;
            json_t *e;
            json_array_foreach(v, j, e)
            {
                json_array_append_new(val, select_object(g, f, e, f->name));
            }
        } else {
            val = select_object(g, f, v, f->name);
        }
        json_object_set_new(out, gql_field_key(f), val);
    }
    return out;
}

/* The namespaces argument: a pattern after "scope/" such as "ui/<star>", or none for all. */
static bool ns_match(gq_t *g, json_t *ns, const char *name)
{
    if (!ns || json_is_null(ns))
        return true;
    json_t *list = json_is_array(ns) ? json_incref(ns) : json_pack("[O]", ns);
    bool hit = json_array_size(list) == 0;
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p)
    {
        const char *pat = json_string_value(p);
        if (!pat)
            continue;
        size_t sl = strlen(g->r->scope.name);
        if (!strncmp(pat, g->r->scope.name, sl) && pat[sl] == '/')
            pat += sl + 1;
        if (name_pattern_match(pat, name))
            hit = true;
    }
    json_decref(list);
    return hit;
}

typedef struct {
    gq_t *g;
    json_t *ns;
    bool include_deleted;
    bool legacy;
    json_t *out;
    bool remove_aspect; /* aspects(include:) names teambit.component/remove, or has no filter */
} list_ctx_t;

static int list_one(void *ctx, const component_row_t *c)
{
    list_ctx_t *l = ctx;
    if (!ns_match(l->g, l->ns, c->name))
        return 0;
    const char *scope = l->g->r->scope.name;
    if (l->legacy) {
        char id[3 * NAME_MAX_LEN];
        snprintf(id, sizeof id, "%s/%s@%s", scope, c->name, c->latest);
        json_array_append_new(l->out, json_pack("{s:s, s:b}", "id", id, "deprecated",
                                                (int)c->deprecated));
        return 0;
    }
    /* modern listings show components with a head that are not soft-deleted */
    if (!c->head[0] || (c->removed && !l->include_deleted))
        return 0;
    json_t *aspects = json_array();
    if (c->removed && l->remove_aspect)
        json_array_append_new(aspects, json_pack("{s:s, s:{s:b}}", "id", "teambit.component/remove",
                                                 "config", "removed", 1));
    json_array_append_new(
        l->out, json_pack("{s:{s:s, s:s, s:s}, s:{s:b}, s:o}", "id", "scope", scope, "version",
                          c->latest, "name", c->name, "deprecation", "isDeprecate",
                          (int)c->deprecated, "aspects", aspects));
    return 0;
}

static json_t *resolve_list(gq_t *g, const gql_field_t *f, bool legacy)
{
    list_ctx_t l = {g, gql_arg_json(g->doc, f, "namespaces"), false, legacy, json_array(), true};
    json_t *inc = gql_arg_json(g->doc, f, "includeDeleted");
    l.include_deleted = json_is_true(inc);
    json_decref(inc);
    for (size_t i = 0; i < f->nfields; i++) {
        if (strcmp(f->fields[i]->name, "aspects"))
            continue;
        json_t *want = gql_arg_json(g->doc, f->fields[i], "include");
        if (json_is_array(want)) {
            l.remove_aspect = false;
            size_t j;
            json_t *a;
            json_array_foreach(want, j, a)
            {
                if (json_is_string(a) && !strcmp(json_string_value(a), "teambit.component/remove"))
                    l.remove_aspect = true;
            }
        }
        json_decref(want);
    }
    if (l.ns && !json_is_null(l.ns) && !json_is_string(l.ns) && !json_is_array(l.ns))
        gq_error(g, f, "Argument \"%s\" of \"%s\" has an invalid value.", "namespaces", f->name);
    else if (index_component_each(g->st.ix, g->r->scope.id, list_one, &l) != 0)
        gq_error(g, f, "%s%s", "internal error listing components", "");
    json_decref(l.ns);
    json_t *res = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(l.out, i, e)
    {
        json_array_append_new(res, select_object(g, f, e, legacy ? "LegacyMeta" : "Component"));
    }
    json_decref(l.out);
    return res;
}

/* A domain error becomes a GraphQL error of the field; internal details go to the log only. */
static void gq_domain_error(gq_t *g, const gql_field_t *f, err_t *e)
{
    if (e->kind == ERR_INTERNAL) {
        log_error("msg=\"graphql resolver failed\" request_id=%s field=%s error=\"%s\"",
                  g->r->request_id, f->name, e->msg);
        gq_error(g, f, "internal server error (request %s)%s", g->r->request_id, "");
    } else {
        gq_error(g, f, "%s%s", e->msg, "");
    }
    err_clear(e);
}

static json_t *select_each(gq_t *g, const gql_field_t *f, json_t *list, const char *type)
{
    json_t *res = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        json_array_append_new(res, select_object(g, f, e, type));
    }
    json_decref(list);
    return res;
}

static json_t *resolve_logs(gq_t *g, const gql_field_t *f)
{
    json_t *id = gql_arg_json(g->doc, f, "id");
    json_t *out = NULL;
    err_t e;
    err_init(&e);
    if (query_log(&g->st, &g->r->scope, json_string_value(id), &out, &e) != 0)
        gq_domain_error(g, f, &e);
    json_decref(id);
    return out ? select_each(g, f, out, "LogEntry") : NULL;
}

static json_t *resolve_latest(gq_t *g, const gql_field_t *f)
{
    json_t *ids = gql_arg_json(g->doc, f, "ids");
    json_t *out = NULL;
    err_t e;
    err_init(&e);
    if (query_latest_versions(&g->st, &g->r->scope, ids, &out, &e) != 0)
        gq_domain_error(g, f, &e);
    json_decref(ids);
    return out;
}

static json_t *resolve_legacy(gq_t *g, const gql_field_t *f)
{
    json_t *id = gql_arg_json(g->doc, f, "id");
    char *text = NULL;
    err_t e;
    err_init(&e);
    if (query_legacy_component(&g->st, &g->r->scope, json_string_value(id), &text, &e) != 0)
        gq_domain_error(g, f, &e);
    json_decref(id);
    json_t *out = text ? json_string(text) : json_null();
    free(text);
    return out;
}

static json_t *resolve_graph(gq_t *g, const gql_field_t *f)
{
    json_t *ids = gql_arg_json(g->doc, f, "ids");
    json_t *filter = gql_arg_json(g->doc, f, "filter");
    json_t *out = NULL;
    err_t e;
    err_init(&e);
    if (query_graph(&g->st, &g->r->scope, ids, json_string_value(filter), &out, &e) != 0)
        gq_domain_error(g, f, &e);
    json_decref(ids);
    json_decref(filter);
    if (!out)
        return NULL;
    json_t *res = select_object(g, f, out, "ComponentGraph");
    json_decref(out);
    return res;
}

static json_t *resolve_deprecate(gq_t *g, const gql_field_t *f, bool deprecate)
{
    json_t *ids = gql_arg_json(g->doc, f, "bitIds");
    json_t *out = NULL;
    err_t e;
    err_init(&e);
    if (deprecate_components(&g->st, &g->r->scope, ids, deprecate, &out, &e) != 0) {
        gq_domain_error(g, f, &e);
    } else if (json_array_size(json_object_get(out, "bitIds"))) {
        char *detail = json_dumps(json_object_get(out, "bitIds"), JSON_COMPACT);
        auth_audit(g->st.ix, &g->r->who, g->r->address, deprecate ? "deprecate" : "undeprecate",
                   g->r->scope.name, detail);
        free(detail);
    }
    json_decref(ids);
    if (!out)
        return NULL;
    json_t *res = select_object(g, f, out, "DeprecationResult");
    json_decref(out);
    return res;
}

static json_t *resolve_scope(gq_t *g, const gql_field_t *sel)
{
    json_t *out = json_object();
    for (size_t i = 0; i < sel->nfields; i++) {
        const gql_field_t *f = sel->fields[i];
        json_t *v = NULL;
        if (!strcmp(f->name, "name"))
            v = json_string(g->r->scope.name);
        else if (!strcmp(f->name, "__typename"))
            v = json_string("Scope");
        else if (!strcmp(f->name, "_legacyList"))
            v = resolve_list(g, f, true);
        else if (!strcmp(f->name, "components"))
            v = resolve_list(g, f, false);
        else if (!strcmp(f->name, "getLogs"))
            v = resolve_logs(g, f);
        else if (!strcmp(f->name, "_legacyLatestVersions"))
            v = resolve_latest(g, f);
        else if (!strcmp(f->name, "_getLegacy"))
            v = resolve_legacy(g, f);
        else
            unknown_field(g, f, "Scope");
        if (v)
            json_object_set_new(out, gql_field_key(f), v);
    }
    return out;
}

/* Lanes.list (protocol.md §5.7): every lane of the scope and "main", or the ones asked for. */
typedef struct {
    gq_t *g;
    json_t *out;
    json_t *want; /* lane names asked for, or NULL for all */
} lanes_ctx_t;

static bool lane_wanted(json_t *want, const char *name)
{
    if (!want)
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(want, i, v)
    {
        const char *s = json_string_value(v);
        const char *n = s ? lane_id_name(s) : NULL;
        if (n && !strcmp(n, name))
            return true;
    }
    return false;
}

static int main_component(void *ctx, const component_row_t *c)
{
    lanes_ctx_t *l = ctx;
    if (c->head[0] && !c->removed)
        json_array_append_new(l->out, json_pack("{s:s, s:s, s:s}", "name", c->name, "scope",
                                                l->g->r->scope.name, "version", c->latest));
    return 0;
}

static int one_lane(void *ctx, const char *name, const char *ref)
{
    lanes_ctx_t *l = ctx;
    if (!lane_wanted(l->want, name))
        return 0;
    err_t err;
    err_init(&err);
    json_t *lane = store_object_json(&l->g->st, l->g->r->scope.id, ref, OBJ_LANE, &err);
    err_clear(&err);
    if (!lane)
        return 0;
    json_t *comps = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(lane, "components"), i, e)
    {
        if (json_is_true(json_object_get(e, "isDeleted")))
            continue;
        json_t *id = json_object_get(e, "id");
        json_array_append_new(comps, json_pack("{s:O, s:O, s:O}", "name", json_object_get(id, "name"),
                                               "scope", json_object_get(id, "scope"), "version",
                                               json_object_get(e, "head")));
    }
    json_decref(lane);
    json_array_append_new(l->out, json_pack("{s:{s:s, s:s}, s:o}", "id", "name", name, "scope",
                                            l->g->r->scope.name, "laneComponentIds", comps));
    return 0;
}

static json_t *resolve_lanes_list(gq_t *g, const gql_field_t *f)
{
    json_t *ids = gql_arg_json(g->doc, f, "ids");
    lanes_ctx_t l = {g, json_array(), json_array_size(ids) ? ids : NULL};
    if (lane_wanted(l.want, "main")) {
        lanes_ctx_t m = {g, json_array(), NULL};
        index_component_each(g->st.ix, g->r->scope.id, main_component, &m);
        json_array_append_new(l.out, json_pack("{s:{s:s, s:s}, s:o}", "id", "name", "main", "scope",
                                               g->r->scope.name, "laneComponentIds", m.out));
    }
    index_lane_each(g->st.ix, g->r->scope.id, one_lane, &l);
    json_decref(ids);
    json_t *res = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(l.out, i, e)
    {
        json_array_append_new(res, select_object(g, f, e, "Lane"));
    }
    json_decref(l.out);
    return res;
}

static json_t *resolve_lanes(gq_t *g, const gql_field_t *sel)
{
    json_t *out = json_object();
    for (size_t i = 0; i < sel->nfields; i++) {
        const gql_field_t *f = sel->fields[i];
        if (!strcmp(f->name, "list"))
            json_object_set_new(out, gql_field_key(f), resolve_lanes_list(g, f));
        else if (!strcmp(f->name, "__typename"))
            json_object_set_new(out, gql_field_key(f), json_string("Lanes"));
    }
    return out;
}

static int gq_reply_errors(req_t *r, json_t *errors)
{
    return reply_json(r, 400, json_pack("{s:o}", "errors", errors));
}

int handle_graphql(req_t *r)
{
    json_t *body = req_json(r);
    if (!body)
        return reply_error(r, &r->err);
    const char *query = json_string_value(json_object_get(body, "query"));
    json_t *vars = json_object_get(body, "variables");
    const char *opname = json_string_value(json_object_get(body, "operationName"));
    char err[512];
    if (!query) {
        json_decref(body);
        return gq_reply_errors(r, json_pack("[{s:s}]", "message", "Must provide query string."));
    }
    const limits_t *lim = &r->app->cfg.lim;
    if (strlen(query) > lim->max_graphql_bytes) {
        json_decref(body);
        err_set(&r->err, ERR_TOO_LARGE, "GraphQL document is larger than %llu bytes",
                (unsigned long long)lim->max_graphql_bytes);
        return reply_error(r, &r->err);
    }
    gql_limits_t gl = {(size_t)lim->max_graphql_bytes, (int)lim->max_graphql_depth, 0};
    gq_t g = {r, app_store(r->app), NULL, json_array()};
    g.doc = gql_parse(query, strlen(query), &gl, err, sizeof err);
    gql_op_t op;
    if (!g.doc || gql_prepare(g.doc, opname, json_is_object(vars) ? vars : NULL, &op, err,
                              sizeof err) != 0) {
        gql_free(g.doc);
        json_decref(body);
        json_decref(g.errors);
        /* errors[] for GraphQL clients, and Bit's shape around it (reply_error adds both) */
        err_set(&r->err, ERR_BAD_REQUEST, "%s", err);
        return reply_error(r, &r->err);
    }
    gq_validate(&g, (const gql_field_t *const *)op.fields, op.nfields,
                op.kind == GQL_QUERY ? &t_query : &t_mutation);
    if (json_array_size(g.errors)) {
        gql_free(g.doc);
        json_decref(body);
        return gq_reply_errors(r, g.errors);
    }
    /* graphql is a read route: mutations check the write role themselves, and are refused
     * as a write would be */
    if (op.kind == GQL_MUTATION && !auth_can_write(r->role)) {
        gql_free(g.doc);
        json_decref(body);
        json_decref(g.errors);
        if (!r->who.authenticated)
            err_set(&r->err, ERR_UNAUTHORIZED,
                    "permission to scope %s was denied: a valid token is required", r->scope.name);
        else
            err_set(&r->err, ERR_FORBIDDEN, "permission to scope %s was denied: %s may not change it",
                    r->scope.name, r->who.user);
        return reply_error(r, &r->err);
    }
    json_t *data = json_object();
    for (size_t i = 0; i < op.nfields; i++) {
        const gql_field_t *f = op.fields[i];
        json_t *v;
        if (op.kind == GQL_QUERY && !strcmp(f->name, "scope"))
            json_object_set_new(data, gql_field_key(f), resolve_scope(&g, f));
        else if (op.kind == GQL_QUERY && !strcmp(f->name, "lanes"))
            json_object_set_new(data, gql_field_key(f), resolve_lanes(&g, f));
        else if (op.kind == GQL_QUERY && !strcmp(f->name, "graph"))
            json_object_set_new(data, gql_field_key(f), (v = resolve_graph(&g, f)) ? v : json_null());
        else if (op.kind == GQL_MUTATION &&
                 (!strcmp(f->name, "deprecate") || !strcmp(f->name, "undeprecate")))
            json_object_set_new(data, gql_field_key(f),
                                (v = resolve_deprecate(&g, f, !strcmp(f->name, "deprecate")))
                                    ? v
                                    : json_null());
        else if (!strcmp(f->name, "__typename"))
            json_object_set_new(data, gql_field_key(f),
                                json_string(op.kind == GQL_QUERY ? "Query" : "Mutation"));
        else
            unknown_field(&g, f, op.kind == GQL_QUERY ? "Query" : "Mutation");
    }
    gql_free(g.doc);
    json_decref(body);
    if (json_array_size(g.errors)) {
        json_decref(data);
        return gq_reply_errors(r, g.errors);
    }
    json_decref(g.errors);
    r->cache_it = r->keyed && op.kind == GQL_QUERY; /* a mutation's answer is its own */
    return reply_json(r, 200, json_pack("{s:o}", "data", data));
}
