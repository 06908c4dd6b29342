#include "deprecate.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model.h"

/* A modern client deprecates through its head Version; that stays in force whatever the flag. */
static bool head_deprecated(store_t *st, const scope_row_t *scope, const component_row_t *row)
{
    if (!row->head[0] || index_object_get(st->ix, scope->id, row->head, NULL) != 0)
        return false;
    err_t e;
    err_init(&e);
    json_t *v = store_object_json(st, scope->id, row->head, OBJ_VERSION, &e);
    version_info_t vi;
    bool dep = v && version_info_parse(v, &vi, &e) == 0 && vi.deprecated;
    if (v)
        version_info_free(&vi);
    json_decref(v);
    err_clear(&e);
    return dep;
}

/* Rewrites one Component with the flag set; blobs are made durable by the caller's batch. */
static int rewrite(store_t *st, const scope_row_t *scope, const component_row_t *row, bool dep,
                   blob_batch_t *batch, char blob[BLOB_HEX], int64_t *size, err_t *err)
{
    json_t *c = store_object_json(st, scope->id, row->ref, OBJ_COMPONENT, err);
    if (!c)
        return -1;
    json_object_set_new(c, "deprecated", json_boolean(dep));
    char *text = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    buf_t enc;
    buf_init(&enc);
    int rc = text ? obj_encode(OBJ_COMPONENT, row->ref, text, strlen(text), &enc) : -1;
    free(text);
    if (rc == 0)
        rc = blob_put(batch, enc.data, enc.len, blob);
    *size = (int64_t)enc.len;
    buf_free(&enc);
    return rc == 0 ? 0 : err_set(err, ERR_INTERNAL, "cannot write the component");
}

int deprecate_components(store_t *st, const scope_row_t *scope, json_t *ids, bool deprecate,
                         json_t **result, err_t *err)
{
    *result = NULL;
    if (!json_is_array(ids))
        return err_set(err, ERR_BAD_REQUEST, "bitIds must be a list of component ids");
    if (json_array_size(ids) > st->lim->max_fetch_ids)
        return err_set(err, ERR_TOO_LARGE, "more than %llu ids",
                       (unsigned long long)st->lim->max_fetch_ids);
    json_t *found = json_array(), *missing = json_array();
    blob_batch_t batch;
    blob_batch_init(&batch, st->bs, st->ix);
    if (index_begin(st->ix) != 0) {
        json_decref(found);
        json_decref(missing);
        return err_set(err, ERR_INTERNAL, "index busy");
    }
    int rc = 0;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        const char *s = json_string_value(v);
        bit_id_t id;
        if (!s || !bit_id_parse(s, &id)) {
            rc = err_set(err, ERR_BAD_REQUEST, "bitIds[%zu] is not a component id (scope/name)", i);
            break;
        }
        component_row_t row;
        int got = strcmp(id.scope, scope->name) ? 1 : index_component_get(st->ix, scope->id, id.name, &row);
        if (got < 0) {
            rc = err_set(err, ERR_INTERNAL, "index read failed");
            break;
        }
        char plain[2 * NAME_MAX_LEN + 1];
        snprintf(plain, sizeof plain, "%s/%s", id.scope, id.name);
        if (got == 1) {
            json_array_append_new(missing, json_string(s));
            continue;
        }
        char blob[BLOB_HEX];
        int64_t size;
        rc = rewrite(st, scope, &row, deprecate, &batch, blob, &size, err);
        /* the index names the new blob only once the batch is durable, below */
        if (rc == 0)
            json_array_append_new(found, json_pack("{s:s, s:s, s:s, s:I}", "id", plain, "name",
                                                   id.name, "blob", blob, "size", (json_int_t)size));
        if (rc != 0)
            break;
    }
    if (rc == 0 && blob_batch_sync(&batch) != 0)
        rc = err_set(err, ERR_INTERNAL, "cannot make the components durable");
    blob_batch_free(&batch);
    json_t *f;
    json_array_foreach(found, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        component_row_t row;
        if (rc == 0 && index_component_get(st->ix, scope->id, name, &row) != 0)
            rc = err_set(err, ERR_INTERNAL, "index read failed");
        if (rc == 0)
            rc = index_object_put(st->ix, scope->id, row.ref, OBJ_COMPONENT,
                                  json_string_value(json_object_get(f, "blob")),
                                  json_integer_value(json_object_get(f, "size")));
        if (rc == 0)
            rc = index_component_set_deprecated(st->ix, scope->id, name,
                                                deprecate || head_deprecated(st, scope, &row));
        if (rc > 0)
            rc = -1;
        if (rc != 0 && err->kind == ERR_NONE)
            err_set(err, ERR_INTERNAL, "cannot update the index: %s", index_errmsg(st->ix));
    }
    if (rc == 0 && index_commit(st->ix) != 0)
        rc = err_set(err, ERR_INTERNAL, "cannot commit: %s", index_errmsg(st->ix));
    if (rc != 0) {
        index_rollback(st->ix);
        json_decref(found);
        json_decref(missing);
        return -1;
    }
    json_t *bit_ids = json_array();
    json_array_foreach(found, i, f)
    {
        json_array_append(bit_ids, json_object_get(f, "id"));
    }
    json_decref(found);
    *result = json_pack("{s:o, s:o}", "bitIds", bit_ids, "missingComponents", missing);
    log_info("msg=\"%s\" scope=%s count=%zu", deprecate ? "deprecated" : "undeprecated",
             scope->name, json_array_size(bit_ids));
    return 0;
}
