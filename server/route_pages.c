/* The pages to browse, for everyone who may read: / (the visitor's scopes), /<scope> (its
 * components by namespace, with search) and /<scope>/~/<component> (versions, dependencies,
 * dependents, files). They answer GETs that no protocol route takes. A scope the visitor may not
 * read answers exactly as one that does not exist. */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "page.h"

/* What a page shows of one file at most; the rest is the CLI's business. */
#define FILE_SHOWN_MAX (1 * MIB)

static int internal_error(page_t *p, const char *what)
{
    buf_free(&p->b);
    err_set(&p->r->err, ERR_INTERNAL, "%s", what);
    return reply_error(p->r, &p->r->err);
}

/* 0 when the visitor may read the scope; 1 when it is absent, unreadable or no scope name. */
static int readable_scope(page_t *p, const char *name, scope_row_t *s, role_t *role)
{
    index_t *ix = app_index(p->r->app);
    if (!scope_name_valid(name))
        return 1;
    int rc = index_scope_get(ix, name, s);
    if (rc != 0)
        return rc;
    *role = auth_role(ix, &p->r->who, s->id);
    return auth_can_read(s, *role) ? 0 : 1;
}

static void scope_link(page_t *p, const char *scope, const char *component)
{
    buf_append_str(&p->b, "<a href=\"/");
    url_encode(&p->b, scope);
    if (component) {
        buf_append_str(&p->b, "/~/");
        url_encode_path(&p->b, component);
    }
    buf_append_str(&p->b, "\">");
    page_text(p, scope);
    if (component) {
        buf_append_str(&p->b, "/");
        page_text(p, component);
    }
    buf_append_str(&p->b, "</a>");
}

/* ---- / */

typedef struct {
    page_t *p;
    int shown;
    int failed;
} home_t;

static int home_scope(void *ctx, const scope_row_t *s)
{
    home_t *h = ctx;
    index_t *ix = app_index(h->p->r->app);
    role_t role = auth_role(ix, &h->p->r->who, s->id);
    if (!auth_can_read(s, role))
        return 0;
    int64_t n = 0, last = 0;
    if (index_scope_summary(ix, s->id, &n, &last) != 0) {
        h->failed = 1;
        return 1;
    }
    if (!h->shown++)
        buf_append_str(&h->p->b, "<table id=\"scopes\"><tr><th>Scope</th><th>Components</th>"
                                 "<th>Last export</th><th>Your role</th></tr>");
    buf_append_str(&h->p->b, "<tr><td>");
    scope_link(h->p, s->name, NULL);
    if (!s->is_public)
        buf_append_str(&h->p->b, " <span class=\"badge\">private</span>");
    buf_printf(&h->p->b, "</td><td>%lld</td><td>", (long long)n);
    page_time(h->p, last);
    buf_append_str(&h->p->b, "</td><td>");
    page_text(h->p, role ? role_name(role) : "—");
    buf_append_str(&h->p->b, "</td></tr>");
    return 0;
}

static int home_page(page_t *p)
{
    page_head(p, "Scopes");
    buf_append_str(&p->b, "<main><h1>Scopes</h1>");
    home_t h = {p, 0, 0};
    if (index_scope_each(app_index(p->r->app), home_scope, &h) != 0 || h.failed)
        return internal_error(p, "cannot list scopes");
    if (h.shown)
        buf_append_str(&p->b, "</table>");
    else
        buf_append_str(&p->b, "<p id=\"no-scopes\">There are no scopes you may read.</p>");
    if (!p->session[0])
        buf_append_str(&p->b, "<p class=\"muted\">Sign in to see the private scopes you are a "
                              "member of.</p>");
    buf_append_str(&p->b, "</main>");
    page_end(p);
    return page_reply(p, 200);
}

/* ---- /<scope> */

typedef struct {
    page_t *p;
    const char *scope;
    char ns[NAME_MAX_LEN]; /* the namespace of the open table */
    int64_t shown;
} list_t;

static void namespace_of(const char *name, char out[NAME_MAX_LEN])
{
    const char *slash = strrchr(name, '/');
    size_t n = slash ? (size_t)(slash - name) : 0;
    memcpy(out, name, n);
    out[n] = 0;
}

static int list_component(void *ctx, const component_row_t *c, const version_row_t *v)
{
    list_t *l = ctx;
    buf_t *b = &l->p->b;
    char ns[NAME_MAX_LEN];
    namespace_of(c->name, ns);
    if (!l->shown++ || strcmp(ns, l->ns) != 0) {
        if (l->shown > 1)
            buf_append_str(b, "</table>");
        snprintf(l->ns, sizeof l->ns, "%s", ns);
        buf_append_str(b, "<h3 class=\"namespace\">");
        page_text(l->p, ns[0] ? ns : "(no namespace)");
        buf_append_str(b, "</h3><table class=\"components\"><tr><th>Component</th><th>Latest</th>"
                          "<th>Last export</th><th>By</th></tr>");
    }
    buf_append_str(b, "<tr><td>");
    scope_link(l->p, l->scope, c->name);
    if (c->deprecated)
        buf_append_str(b, " <span class=\"badge warn\">deprecated</span>");
    if (c->removed)
        buf_append_str(b, " <span class=\"badge warn\">removed</span>");
    buf_append_str(b, "</td><td>");
    page_text(l->p, c->latest[0] ? c->latest : "—");
    buf_append_str(b, "</td><td>");
    page_time(l->p, c->updated_at);
    buf_append_str(b, "</td><td>");
    page_text(l->p, v->username[0] ? v->username : v->email[0] ? v->email : "—");
    buf_append_str(b, "</td></tr>");
    return 0;
}

static int scope_page(page_t *p, const scope_row_t *s, role_t role)
{
    index_t *ix = app_index(p->r->app);
    const char *q = page_query(p->r, "q");
    if (q && strlen(q) > 200)
        q = NULL;
    int64_t n = 0, last = 0;
    if (index_scope_summary(ix, s->id, &n, &last) != 0)
        return internal_error(p, "cannot read the scope");
    page_head(p, s->name);
    buf_t *b = &p->b;
    buf_append_str(b, "<main><h1 id=\"scope-name\">");
    page_text(p, s->name);
    buf_append_str(b, s->is_public ? " <span class=\"badge\">public</span>"
                                   : " <span class=\"badge\">private</span>");
    buf_printf(b, "</h1><p class=\"muted\"><span id=\"count\">%lld</span> component%s · last "
                  "export ",
               (long long)n, n == 1 ? "" : "s");
    page_time(p, last);
    if (role) {
        buf_append_str(b, " · your role: ");
        page_text(p, role_name(role));
    }
    if (role >= ROLE_ADMIN) {
        buf_append_str(b, " · <a id=\"members\" href=\"/scopes/");
        url_encode(b, s->name);
        buf_append_str(b, "/members\">members</a>");
    }
    buf_append_str(b, "</p><h2>Connect</h2><p>Add the scope as a remote of a workspace:</p>"
                      "<pre id=\"remote-add\">bit remote add ");
    buf_t origin;
    buf_init(&origin);
    page_origin(p, &origin);
    page_text(p, buf_cstr(&origin));
    buf_free(&origin);
    buf_append_str(b, "/");
    page_text(p, s->name);
    buf_append_str(b, "</pre><p>and make it the workspace's default scope, in "
                      "<code>workspace.jsonc</code>:</p><pre id=\"default-scope\">"
                      "&quot;teambit.workspace/workspace&quot;: {\n  &quot;defaultScope&quot;: "
                      "&quot;");
    page_text(p, s->name);
    buf_append_str(b, "&quot;\n}</pre><h2>Components</h2><form class=\"row\" method=\"get\" "
                      "action=\"/");
    url_encode(b, s->name);
    buf_append_str(b, "\"><input class=\"grow\" type=\"search\" id=\"search\" name=\"q\" "
                      "placeholder=\"Search by name\" aria-label=\"Search by name\" value=\"");
    page_text(p, q);
    buf_append_str(b, "\"><button type=\"submit\" id=\"search-go\">Search</button></form>");
    list_t l = {.p = p, .scope = s->name};
    if (index_component_list(ix, s->id, q, list_component, &l) != 0)
        return internal_error(p, "cannot list components");
    if (l.shown)
        buf_append_str(b, "</table>");
    if (q && *q) {
        buf_printf(b, "<p id=\"matches\">%lld component%s match “", (long long)l.shown,
                   l.shown == 1 ? "" : "s");
        page_text(p, q);
        buf_append_str(b, "”. <a href=\"/");
        url_encode(b, s->name);
        buf_append_str(b, "\">Show all</a></p>");
    } else if (!l.shown) {
        buf_append_str(b, "<p id=\"empty\">Nothing was exported to this scope yet.</p>");
    }
    buf_append_str(b, "</main>");
    page_end(p);
    return page_reply(p, 200);
}

/* ---- /<scope>/~/<component> */

typedef struct {
    page_t *p;
    const char *ref; /* the chosen version */
    bool found;
} versions_t;

static void version_href(buf_t *b, const char *v, const char *file)
{
    buf_append_str(b, "?v=");
    url_encode(b, v);
    if (file) {
        buf_append_str(b, "&amp;file=");
        url_encode(b, file);
    }
}

static int version_row(void *ctx, const version_row_t *v)
{
    versions_t *vs = ctx;
    buf_t *b = &vs->p->b;
    bool chosen = !strcmp(v->ref, vs->ref);
    vs->found |= chosen;
    /* a version is called by its last tag, else by its hash */
    const char *last_tag = strrchr(v->tags, ' ');
    char name[NAME_MAX_LEN];
    snprintf(name, sizeof name, "%s", !v->tags[0] ? v->ref : last_tag ? last_tag + 1 : v->tags);
    buf_printf(b, "<tr%s><td><a href=\"", chosen ? " class=\"chosen\"" : "");
    version_href(b, name, NULL);
    buf_append_str(b, "\">");
    if (v->tags[0]) {
        page_text(vs->p, v->tags);
    } else {
        buf_append_str(b, "<code>");
        buf_append(b, v->ref, strlen(v->ref) < 9 ? strlen(v->ref) : 9);
        buf_append_str(b, "</code>");
    }
    buf_append_str(b, "</a></td><td class=\"message\">");
    page_text(vs->p, v->message);
    buf_append_str(b, "</td><td>");
    page_text(vs->p, v->username[0] ? v->username : "");
    if (v->email[0]) {
        buf_append_str(b, v->username[0] ? " <span class=\"muted\">&lt;"
                                         : "<span class=\"muted\">&lt;");
        page_text(vs->p, v->email);
        buf_append_str(b, "&gt;</span>");
    }
    buf_append_str(b, "</td><td>");
    page_ms_date(vs->p, v->date);
    buf_append_str(b, "</td></tr>");
    return 0;
}

/* One dependency of a Version: {"id": {"scope","name","version"}} or an id string. */
static void dependency_item(page_t *p, json_t *dep, const char *kind)
{
    json_t *id = json_object_get(dep, "id");
    bit_id_t bid = {0};
    if (json_is_string(id)) {
        if (!bit_id_parse(json_string_value(id), &bid))
            return;
    } else {
        const char *sc = json_string_value(json_object_get(id, "scope"));
        const char *nm = json_string_value(json_object_get(id, "name"));
        const char *vv = json_string_value(json_object_get(id, "version"));
        if (!nm)
            return;
        snprintf(bid.scope, sizeof bid.scope, "%s", sc ? sc : "");
        snprintf(bid.name, sizeof bid.name, "%s", nm);
        snprintf(bid.version, sizeof bid.version, "%s", vv ? vv : "");
    }
    buf_t *b = &p->b;
    buf_append_str(b, "<li>");
    if (bid.scope[0] && scope_name_valid(bid.scope) && component_name_valid(bid.name)) {
        buf_append_str(b, "<a href=\"/");
        url_encode(b, bid.scope);
        buf_append_str(b, "/~/");
        url_encode_path(b, bid.name);
        if (bid.version[0])
            version_href(b, bid.version, NULL);
        buf_append_str(b, "\">");
        page_text(p, bid.scope);
        buf_append_str(b, "/");
        page_text(p, bid.name);
        buf_append_str(b, "</a>");
    } else {
        page_text(p, bid.name);
    }
    if (bid.version[0]) {
        buf_append_str(b, "@");
        page_text(p, bid.version);
    }
    if (kind) {
        buf_append_str(b, " <span class=\"muted\">");
        page_text(p, kind);
        buf_append_str(b, "</span>");
    }
    buf_append_str(b, "</li>");
}

static void dependencies_section(page_t *p, json_t *version)
{
    buf_t *b = &p->b;
    buf_append_str(b, "<h2>Dependencies</h2><ul id=\"dependencies\">");
    size_t n = 0, i;
    json_t *dep;
    json_array_foreach(json_object_get(version, "dependencies"), i, dep)
    {
        dependency_item(p, dep, NULL);
        n++;
    }
    json_array_foreach(json_object_get(version, "devDependencies"), i, dep)
    {
        dependency_item(p, dep, "dev");
        n++;
    }
    const char *pkg;
    json_t *range;
    json_object_foreach(json_object_get(version, "packageDependencies"), pkg, range)
    {
        buf_append_str(b, "<li>");
        page_text(p, pkg);
        buf_append_str(b, " ");
        page_text(p, json_string_value(range));
        buf_append_str(b, " <span class=\"muted\">package</span></li>");
        n++;
    }
    buf_append_str(b, "</ul>");
    if (!n)
        buf_append_str(b, "<p class=\"muted\">None.</p>");
}

typedef struct {
    page_t *p;
    const char *scope;
    int n;
} dependents_t;

static int dependent_item(void *ctx, const char *component, const char *versions)
{
    dependents_t *d = ctx;
    if (!d->n++)
        buf_append_str(&d->p->b, "<ul id=\"dependents\">");
    buf_append_str(&d->p->b, "<li>");
    scope_link(d->p, d->scope, component);
    buf_append_str(&d->p->b, " <span class=\"muted\">uses ");
    page_text(d->p, versions);
    buf_append_str(&d->p->b, "</span></li>");
    return 0;
}

static void file_content(page_t *p, store_t *st, int64_t scope, const char *ref)
{
    buf_t data;
    buf_init(&data);
    obj_type_t type;
    err_t err;
    err_init(&err);
    buf_t *b = &p->b;
    if (!is_ref40(ref, strlen(ref)) || store_object_load(st, scope, ref, &type, &data, &err) != 0 ||
        type != OBJ_SOURCE) {
        buf_append_str(b, "<p class=\"error\">This file's object cannot be read.</p>");
    } else if (memchr(data.data, 0, data.len)) {
        buf_printf(b, "<p class=\"muted\" id=\"binary\">A binary file of %zu bytes.</p>", data.len);
    } else {
        size_t n = data.len < FILE_SHOWN_MAX ? data.len : FILE_SHOWN_MAX;
        buf_append_str(b, "<pre id=\"file-content\"><code>");
        html_escape_n(b, (const char *)data.data, n);
        buf_append_str(b, "</code></pre>");
        if (n < data.len)
            buf_printf(b, "<p class=\"muted\">The first %zu of %zu bytes.</p>", n, data.len);
    }
    err_clear(&err);
    buf_free(&data);
}

static void files_section(page_t *p, store_t *st, const scope_row_t *s, json_t *version,
                          const char *vname)
{
    buf_t *b = &p->b;
    json_t *files = json_object_get(version, "files");
    const char *want = page_query(p->r, "file");
    const char *main_file = json_string_value(json_object_get(version, "mainFile"));
    json_t *chosen = NULL, *f;
    size_t i;
    json_array_foreach(files, i, f)
    {
        const char *path = json_string_value(json_object_get(f, "relativePath"));
        if (path && want && !strcmp(path, want))
            chosen = f;
    }
    json_array_foreach(files, i, f)
    {
        const char *path = json_string_value(json_object_get(f, "relativePath"));
        if (!chosen && !want && path && main_file && !strcmp(path, main_file))
            chosen = f;
    }
    if (!chosen && !want)
        chosen = json_array_get(files, 0);
    buf_append_str(b, "<h2>Files of ");
    page_text(p, vname);
    buf_append_str(b, "</h2><ul id=\"files\">");
    json_array_foreach(files, i, f)
    {
        const char *path = json_string_value(json_object_get(f, "relativePath"));
        if (!path)
            continue;
        buf_append_str(b, "<li><a href=\"");
        version_href(b, vname, path);
        buf_append_str(b, "\">");
        page_text(p, path);
        buf_append_str(b, "</a>");
        if (json_is_true(json_object_get(f, "test")))
            buf_append_str(b, " <span class=\"muted\">test</span>");
        buf_append_str(b, "</li>");
    }
    buf_append_str(b, "</ul>");
    if (!chosen) {
        if (want)
            buf_append_str(b, "<p class=\"error\">This version has no such file.</p>");
        return;
    }
    buf_append_str(b, "<h3 id=\"file-name\">");
    page_text(p, json_string_value(json_object_get(chosen, "relativePath")));
    buf_append_str(b, "</h3>");
    const char *ref = json_string_value(json_object_get(chosen, "file"));
    file_content(p, st, s->id, ref ? ref : "");
}

static int component_page(page_t *p, const scope_row_t *s, const char *name)
{
    store_t st = app_store(p->r->app);
    component_row_t c;
    int rc = component_name_valid(name) ? index_component_get(st.ix, s->id, name, &c) : 1;
    if (rc < 0)
        return internal_error(p, "cannot read the component");
    if (rc == 1)
        return page_not_found(p);
    /* the chosen version: ?v= names a tag or a hash; by default the latest */
    const char *v = page_query(p->r, "v");
    if (!v || !*v || strlen(v) >= NAME_MAX_LEN)
        v = c.latest;
    char ref[REF_HEX] = "";
    if (is_ref40(v, strlen(v)))
        memcpy(ref, v, REF_HEX); /* 40 hex and the NUL */
    else if (index_tag_get(st.ix, s->id, c.name, v, ref) < 0)
        return internal_error(p, "cannot read tags");

    char full[2 * NAME_MAX_LEN + 2];
    snprintf(full, sizeof full, "%s/%s", s->name, c.name);
    page_head(p, full);
    buf_t *b = &p->b;
    buf_append_str(b, "<main><p class=\"muted\"><a href=\"/\">scopes</a> / ");
    scope_link(p, s->name, NULL);
    buf_append_str(b, "</p><h1 id=\"component-name\">");
    page_text(p, full);
    if (c.deprecated)
        buf_append_str(b, " <span class=\"badge warn\" id=\"deprecated\">deprecated</span>");
    if (c.removed)
        buf_append_str(b, " <span class=\"badge warn\">removed</span>");
    buf_append_str(b, "</h1><p class=\"muted\">latest ");
    page_text(p, c.latest[0] ? c.latest : "—");
    buf_append_str(b, " · last export ");
    page_time(p, c.updated_at);
    buf_append_str(b, "</p><pre id=\"import-line\">bit import ");
    page_text(p, full);
    buf_append_str(b, "</pre><h2>Versions</h2><table id=\"versions\"><tr><th>Version</th>"
                      "<th>Message</th><th>Author</th><th>Date</th></tr>");
    versions_t vs = {p, ref, false};
    if (index_version_each_of(st.ix, s->id, c.name, version_row, &vs) != 0)
        return internal_error(p, "cannot list versions");
    buf_append_str(b, "</table>");

    json_t *version = NULL;
    if (vs.found) {
        err_t err;
        err_init(&err);
        version = store_object_json(&st, s->id, ref, OBJ_VERSION, &err);
        err_clear(&err);
    }
    if (!version) {
        buf_append_str(b, "<p class=\"error\" id=\"no-version\">");
        page_text(p, vs.found ? "This version's object cannot be read." : "There is no version ");
        if (!vs.found)
            page_text(p, v);
        buf_append_str(b, "</p>");
    } else {
        dependencies_section(p, version);
    }
    buf_append_str(b, "<h2>Dependents in this scope</h2>");
    dependents_t d = {p, s->name, 0};
    if (index_dependent_each(st.ix, s->id, s->name, c.name, dependent_item, &d) != 0) {
        json_decref(version);
        return internal_error(p, "cannot list dependents");
    }
    buf_append_str(b, d.n ? "</ul>" : "<p class=\"muted\">None.</p>");
    if (version)
        files_section(p, &st, s, version, v);
    json_decref(version);
    buf_append_str(b, "</main>");
    page_end(p);
    return page_reply(p, 200);
}

int handle_pages(req_t *r)
{
    page_t p;
    page_begin(&p, r);
    if (!strcmp(r->path, "/"))
        return home_page(&p);
    /* /<scope> or /<scope>/~/<component> */
    char scope[NAME_MAX_LEN];
    const char *seg = r->path + 1, *slash = strchr(seg, '/');
    size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
    if (r->path[0] != '/' || n >= sizeof scope || (slash && strncmp(slash, "/~/", 3) != 0))
        return page_not_found(&p);
    memcpy(scope, seg, n);
    scope[n] = 0;
    scope_row_t s;
    role_t role = ROLE_NONE;
    int rc = readable_scope(&p, scope, &s, &role);
    if (rc < 0)
        return internal_error(&p, "cannot read scopes");
    if (rc == 1)
        return page_not_found(&p);
    return slash ? component_page(&p, &s, slash + 3) : scope_page(&p, &s, role);
}
