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

int history_store(store_t *st, const scope_row_t *scope, const char *name, const char *head,
                  json_t *tags, blob_batch_t *batch, err_t *err)
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
        object_row_t row;
        if (index_object_get(st->ix, scope->id, q.refs[i], &row) != 0 || row.type != OBJ_VERSION) {
            complete = false; /* an ancestor the scope does not hold */
            continue;
        }
        json_t *parents = json_array();
        rc = index_version_ref_each(st->ix, scope->id, q.refs[i], VREF_PARENT, array_push, parents);
        json_t *entry = json_pack("{s:s, s:o}", "hash", q.refs[i], "parents", parents);
        json_t *unrelated = json_array(), *squashed = json_array();
        index_version_ref_each(st->ix, scope->id, q.refs[i], VREF_UNRELATED, array_push, unrelated);
        index_version_ref_each(st->ix, scope->id, q.refs[i], VREF_SQUASHED, array_push, squashed);
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
