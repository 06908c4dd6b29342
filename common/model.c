#include "model.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

bool scope_name_valid(const char *s)
{
    /* ^[$\-_!a-z0-9]+[.]?[$\-_!a-z0-9]+$ (Bit's is-valid-scope-name) */
    size_t n = strlen(s), dots = 0;
    if (n < 2 || n > 200)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (++dots > 1 || i == 0 || i == n - 1)
                return false;
        } else if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '$' ||
                     c == '-' || c == '_' || c == '!')) {
            return false;
        }
    }
    return true;
}

bool component_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 200 || s[0] == '/' || s[n - 1] == '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/' || c == '$' || c == '!'))
            return false;
        if (c == '/' && s[i + 1] == '/')
            return false;
        if (c == '.' && (i == 0 || s[i - 1] == '/') && s[i + 1] == '.')
            return false;
    }
    return true;
}

bool client_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

bool bit_id_parse(const char *s, bit_id_t *out)
{
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof out->scope)
        return false;
    memcpy(out->scope, s, (size_t)(slash - s));
    out->scope[slash - s] = 0;
    const char *name = slash + 1;
    const char *at = strchr(name, '@');
    size_t nlen = at ? (size_t)(at - name) : strlen(name);
    if (nlen == 0 || nlen >= sizeof out->name)
        return false;
    memcpy(out->name, name, nlen);
    out->name[nlen] = 0;
    out->version[0] = 0;
    if (at) {
        if (strlen(at + 1) >= sizeof out->version)
            return false;
        strcpy(out->version, at + 1);
    }
    if (strcmp(out->version, "latest") == 0)
        out->version[0] = 0;
    return component_name_valid(out->name) && out->scope[0];
}

/* ---- Component */

int component_info_parse(json_t *c, component_info_t *out, err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(c))
        return err_set(err, ERR_BAD_REQUEST, "Component object is not a JSON object");
    out->json = c;
    out->name = json_string_value(json_object_get(c, "name"));
    out->scope = json_string_value(json_object_get(c, "scope"));
    if (!out->name || !component_name_valid(out->name))
        return err_set(err, ERR_BAD_REQUEST, "Component object has no valid name");
    if (!out->scope)
        out->scope = "";
    json_t *head = json_object_get(c, "head");
    if (head && !json_is_null(head)) {
        out->head = json_string_value(head);
        if (!out->head || !is_ref40(out->head, strlen(out->head)))
            return err_set(err, ERR_BAD_REQUEST, "Component %s has an invalid head", out->name);
    }
    out->versions = json_object_get(c, "versions");
    if (out->versions == NULL || json_is_null(out->versions))
        out->versions = json_object(), json_object_set_new(c, "versions", out->versions);
    if (!json_is_object(out->versions))
        return err_set(err, ERR_BAD_REQUEST, "Component %s has invalid versions", out->name);
    const char *tag;
    json_t *ref;
    json_object_foreach(out->versions, tag, ref)
    {
        const char *r = json_string_value(ref);
        if (!r || !is_ref40(r, strlen(r)) || strlen(tag) >= NAME_MAX_LEN || !*tag)
            return err_set(err, ERR_BAD_REQUEST, "Component %s has an invalid version %s",
                           out->name, tag);
    }
    out->orphaned = json_object_get(c, "orphanedVersions");
    if (out->orphaned && !json_is_object(out->orphaned))
        out->orphaned = NULL;
    out->deprecated = json_is_true(json_object_get(c, "deprecated"));
    return 0;
}

const char *component_tag_of(const component_info_t *c, const char *ref)
{
    const char *tag;
    json_t *r;
    json_object_foreach(c->versions, tag, r)
    {
        if (strcmp(json_string_value(r), ref) == 0)
            return tag;
    }
    return NULL;
}

void component_latest(const component_info_t *c, char *out, size_t outlen)
{
    out[0] = 0;
    if (c->head) {
        const char *tag = component_tag_of(c, c->head);
        snprintf(out, outlen, "%s", tag ? tag : c->head);
        return;
    }
    const char *best = NULL, *tag;
    json_t *r;
    json_object_foreach(c->versions, tag, r)
    {
        if (!best || semver_cmp(tag, best) > 0)
            best = tag;
    }
    if (best)
        snprintf(out, outlen, "%s", best);
}

/* ---- Version */

static bool push_ref(const char ***arr, size_t *n, const char *ref)
{
    if (!ref || !is_ref40(ref, strlen(ref)))
        return false;
    const char **p = realloc(*arr, (*n + 1) * sizeof **arr);
    if (!p)
        return false;
    *arr = p;
    p[(*n)++] = ref;
    return true;
}

static int file_refs(json_t *files, const char ***arr, size_t *n, const char *what, err_t *err)
{
    size_t i;
    json_t *f;
    if (!files || json_is_null(files))
        return 0;
    if (!json_is_array(files))
        return err_set(err, ERR_BAD_REQUEST, "Version %s is not an array", what);
    json_array_foreach(files, i, f)
    {
        if (!push_ref(arr, n, json_string_value(json_object_get(f, "file"))))
            return err_set(err, ERR_BAD_REQUEST, "Version %s[%zu] has no valid file ref", what, i);
    }
    return 0;
}

static const char *ext_name(json_t *ext)
{
    const char *n = json_string_value(json_object_get(ext, "name"));
    if (n)
        return n;
    json_t *id = json_object_get(ext, "extensionId");
    const char *scope = json_string_value(json_object_get(id, "scope"));
    const char *name = json_string_value(json_object_get(id, "name"));
    if (scope && name && strcmp(scope, "teambit.pipelines") == 0 && strcmp(name, "builder") == 0)
        return "teambit.pipelines/builder";
    return name ? name : "";
}

static int parse_deps(json_t *deps, version_info_t *out, err_t *err)
{
    if (!deps || json_is_null(deps))
        return 0;
    if (!json_is_array(deps))
        return err_set(err, ERR_BAD_REQUEST, "Version flattenedDependencies is not an array");
    size_t n = json_array_size(deps);
    out->deps = calloc(n ? n : 1, sizeof *out->deps);
    if (!out->deps)
        return err_set(err, ERR_INTERNAL, "out of memory");
    size_t i;
    json_t *d;
    json_array_foreach(deps, i, d)
    {
        dep_t *o = &out->deps[out->ndeps];
        if (json_is_string(d)) {
            bit_id_t id;
            if (!bit_id_parse(json_string_value(d), &id))
                return err_set(err, ERR_BAD_REQUEST, "Version has an invalid dependency id");
            memcpy(o->scope, id.scope, sizeof o->scope);
            memcpy(o->name, id.name, sizeof o->name);
            memcpy(o->version, id.version, sizeof o->version);
        } else {
            const char *s = json_string_value(json_object_get(d, "scope"));
            const char *nm = json_string_value(json_object_get(d, "name"));
            const char *v = json_string_value(json_object_get(d, "version"));
            if (!nm || strlen(nm) >= NAME_MAX_LEN || (s && strlen(s) >= NAME_MAX_LEN) ||
                (v && strlen(v) >= NAME_MAX_LEN))
                return err_set(err, ERR_BAD_REQUEST, "Version has an invalid dependency");
            snprintf(o->scope, sizeof o->scope, "%s", s ? s : "");
            snprintf(o->name, sizeof o->name, "%s", nm);
            snprintf(o->version, sizeof o->version, "%s", v ? v : "");
        }
        out->ndeps++;
    }
    return 0;
}

static bool config_flag(json_t *ext, const char *key)
{
    return json_is_true(json_object_get(json_object_get(ext, "config"), key));
}

int version_info_parse(json_t *v, version_info_t *out, err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(v))
        return err_set(err, ERR_BAD_REQUEST, "Version object is not a JSON object");
    out->json = v;
    if (file_refs(json_object_get(v, "files"), &out->sources, &out->nsources, "files", err) ||
        file_refs(json_object_get(v, "dists"), &out->sources, &out->nsources, "dists", err))
        return -1;
    static const char *const single[] = {"flattenedEdgesRef", "dependenciesGraphRef"};
    for (size_t i = 0; i < 2; i++) {
        json_t *r = json_object_get(v, single[i]);
        if (r && !json_is_null(r) && !push_ref(&out->sources, &out->nsources, json_string_value(r)))
            return err_set(err, ERR_BAD_REQUEST, "Version %s is not a valid ref", single[i]);
        if (r && !json_is_null(r))
            out->depgraph = json_string_value(r);
    }
    json_t *fe = json_object_get(v, "flattenedEdges");
    if (!out->depgraph && json_is_array(fe) && json_array_size(fe) > 0)
        out->depgraph = "inline";
    const char *unrelated = json_string_value(json_object_get(json_object_get(v, "unrelated"), "head"));
    if (unrelated && is_ref40(unrelated, strlen(unrelated)))
        out->unrelated = unrelated;
    size_t si;
    json_t *sq;
    json_array_foreach(json_object_get(json_object_get(v, "squashed"), "previousParents"), si, sq)
    {
        if (!push_ref(&out->squashed, &out->nsquashed, json_string_value(sq)))
            return err_set(err, ERR_BAD_REQUEST, "Version squashed.previousParents[%zu] is not a valid ref", si);
    }
    json_t *parents = json_object_get(v, "parents");
    if (parents && !json_is_null(parents)) {
        size_t i;
        json_t *p;
        if (!json_is_array(parents))
            return err_set(err, ERR_BAD_REQUEST, "Version parents is not an array");
        json_array_foreach(parents, i, p)
        {
            if (!push_ref(&out->parents, &out->nparents, json_string_value(p)))
                return err_set(err, ERR_BAD_REQUEST, "Version parents[%zu] is not a valid ref", i);
        }
    }
    json_t *exts = json_object_get(v, "extensions");
    if (json_is_array(exts)) {
        size_t i;
        json_t *e;
        json_array_foreach(exts, i, e)
        {
            const char *name = ext_name(e);
            if (strcmp(name, "teambit.pipelines/builder") == 0) {
                size_t j;
                json_t *a;
                json_array_foreach(json_object_get(json_object_get(e, "data"), "artifacts"), j, a)
                {
                    if (file_refs(json_object_get(a, "files"), &out->artifacts, &out->nartifacts,
                                  "artifacts", err))
                        return -1;
                }
            } else if (strcmp(name, "teambit.component/deprecation") == 0) {
                out->deprecated = config_flag(e, "deprecate");
                out->deprecate_range =
                    json_string_value(json_object_get(json_object_get(e, "config"), "range"));
            } else if (strcmp(name, "teambit.component/remove") == 0) {
                out->removed = config_flag(e, "removed");
            }
        }
    }
    if (parse_deps(json_object_get(v, "flattenedDependencies"), out, err))
        return -1;
    json_t *log = json_object_get(v, "log");
    out->message = json_string_value(json_object_get(log, "message"));
    out->username = json_string_value(json_object_get(log, "username"));
    out->email = json_string_value(json_object_get(log, "email"));
    json_t *date = json_object_get(log, "date");
    out->date = json_string_value(date);
    out->build_status = json_string_value(json_object_get(v, "buildStatus"));
    return 0;
}

bool version_deprecates(const version_info_t *v, const char *tag)
{
    return v->deprecated ||
           (v->deprecate_range && tag && semver_satisfies(tag, v->deprecate_range));
}

void version_info_free(version_info_t *v)
{
    free(v->sources);
    free(v->artifacts);
    free(v->parents);
    free(v->deps);
    free(v->squashed);
    memset(v, 0, sizeof *v);
}
