#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refset.h"

void history_ref(const char *scope, const char *name, char ref[REF_HEX])
{
    char id[2 * NAME_MAX_LEN + 32];
    snprintf(id, sizeof id, "%s/%s:VersionHistory", scope, name);
    sha1_hex(id, strlen(id), ref);
}

static int array_push(void *ctx, const char *ref)
{
    json_array_append_new(ctx, json_string(ref));
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* refs as the index lists them: sorted (SQLite's BINARY order is strcmp's), each once */
static json_t *sorted_unique(const char **refs, size_t n)
{
    json_t *out = json_array();
    const char **tmp = n ? malloc(n * sizeof *tmp) : NULL;
    if (!tmp)
        return out; /* none, or out of memory */
    memcpy(tmp, refs, n * sizeof *tmp);
    qsort(tmp, n, sizeof *tmp, str_cmp);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(tmp[i], tmp[i - 1]) != 0)
            json_array_append_new(out, json_string(tmp[i]));
    free(tmp);
    return out;
}

/* A Version's parents, unrelated head and squashed parents: from the caller's parsed copy when
 * it has one (what the index rows were written from), else from the index. 1: not a Version
 * the scope holds. */
static int version_links(store_t *st, const scope_row_t *scope, const char *ref,
                         const history_source_t *src, json_t **parents, json_t **unrelated,
                         json_t **squashed)
{
    const version_info_t *vi = src ? src->lookup(src->ctx, ref) : NULL;
    if (vi) {
        *parents = sorted_unique(vi->parents, vi->nparents);
        *unrelated = json_array();
        if (vi->unrelated)
            json_array_append_new(*unrelated, json_string(vi->unrelated));
        *squashed = sorted_unique(vi->squashed, vi->nsquashed);
        return 0;
    }
    object_row_t row;
    if (index_object_get(st->ix, scope->id, ref, &row) != 0 || row.type != OBJ_VERSION)
        return 1;
    *parents = json_array();
    *unrelated = json_array();
    *squashed = json_array();
    int rc = index_version_ref_each(st->ix, scope->id, ref, VREF_PARENT, array_push, *parents);
    index_version_ref_each(st->ix, scope->id, ref, VREF_UNRELATED, array_push, *unrelated);
    index_version_ref_each(st->ix, scope->id, ref, VREF_SQUASHED, array_push, *squashed);
    return rc == 0 ? 0 : -1;
}

int history_store(store_t *st, const scope_row_t *scope, const char *name, const char *head,
                  json_t *tags, const history_source_t *src, blob_batch_t *batch, err_t *err)
{
    refqueue_t q;
    refqueue_init(&q);
    int rc = head ? refqueue_push(&q, head) : 0;
    const char *tag;
    json_t *r;
    json_object_foreach(tags, tag, r)
    {
        if (rc == 0)
            rc = refqueue_push(&q, json_string_value(r));
    }
    json_t *versions = json_array();
    bool complete = true;
    for (size_t i = 0; rc == 0 && i < q.n; i++) {
        json_t *parents, *unrelated, *squashed;
        int found = version_links(st, scope, q.refs[i], src, &parents, &unrelated, &squashed);
        if (found == 1) {
            complete = false; /* an ancestor the scope does not hold */
            continue;
        }
        if (found < 0)
            rc = -1;
        json_t *entry = json_pack("{s:s, s:o}", "hash", q.refs[i], "parents", parents);
        if (json_array_size(unrelated))
            json_object_set(entry, "unrelated", json_array_get(unrelated, 0));
        if (json_array_size(squashed))
            json_object_set(entry, "squashed", squashed);
        json_decref(unrelated);
        json_decref(squashed);
        json_array_append_new(versions, entry);
        size_t p;
        json_t *par;
        json_array_foreach(parents, p, par)
        {
            if (rc == 0)
                rc = refqueue_push(&q, json_string_value(par));
        }
    }
    refqueue_free(&q);
    if (rc != 0) {
        json_decref(versions);
        return err_set(err, ERR_INTERNAL, "cannot walk the history of %s", name);
    }
    json_t *complete_refs = json_array();
    if (head && complete)
        json_array_append_new(complete_refs, json_string(head));
    json_t *vh = json_pack("{s:s, s:s, s:o, s:o}", "name", name, "scope", scope->name, "versions",
                           versions, "graphCompleteRefs", complete_refs);
    char *text = json_dumps(vh, JSON_COMPACT);
    json_decref(vh);
    char ref[REF_HEX], blob[BLOB_HEX];
    history_ref(scope->name, name, ref);
    buf_t enc;
    buf_init(&enc);
    rc = text && obj_encode(OBJ_VERSIONHISTORY, ref, text, strlen(text), &enc) == 0 &&
                 blob_put(batch, enc.data, enc.len, blob) == 0
             ? 0
             : -1;
    free(text);
    if (rc == 0)
        rc = index_object_put(st->ix, scope->id, ref, OBJ_VERSIONHISTORY, blob, (int64_t)enc.len);
    buf_free(&enc);
    return rc == 0 ? 0 : err_set(err, ERR_INTERNAL, "cannot store the history of %s", name);
}
