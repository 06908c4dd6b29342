#include "store.h"

#include <string.h>
#include <time.h>

#include "model.h"

/* First path segments the daemon itself answers: no scope may take them. */
static const char *const reserved_names[] = {"api", "healthz", "metrics", "bit-login", "login",
                                             "logout", "static", "tokens", "admin", "scopes",
                                             "favicon.ico", "robots.txt", NULL};

bool store_scope_name_reserved(const char *name)
{
    for (int i = 0; reserved_names[i]; i++)
        if (!strcmp(name, reserved_names[i]))
            return true;
    return false;
}

int store_scope_create(store_t *st, const char *name, bool is_public, err_t *err)
{
    if (store_scope_name_reserved(name))
        return err_set(err, ERR_BAD_REQUEST, "\"%s\" is reserved for the server's own pages", name);
    if (!scope_name_valid(name))
        return err_set(err, ERR_BAD_REQUEST,
                       "invalid scope name \"%s\": use a-z, 0-9, $ - _ ! and at most one dot", name);
    char ref[REF_HEX], blob[BLOB_HEX];
    sha1_hex3(name, NULL, NULL, ref);
    json_t *meta = json_pack("{s:s}", "name", name);
    char *text = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);
    buf_t enc;
    buf_init(&enc);
    blob_batch_t batch;
    blob_batch_init(&batch, st->bs, st->ix);
    int rc = text && obj_encode(OBJ_SCOPEMETA, ref, text, strlen(text), &enc) == 0 &&
                     blob_put(&batch, enc.data, enc.len, blob) == 0 && blob_batch_sync(&batch) == 0
                 ? 0
                 : -1;
    free(text);
    blob_batch_free(&batch);
    int64_t size = (int64_t)enc.len;
    buf_free(&enc);
    if (rc != 0)
        return err_set(err, ERR_INTERNAL, "cannot write the scope's ScopeMeta object");
    if (index_begin(st->ix) != 0)
        return err_set(err, ERR_INTERNAL, "index busy: %s", index_errmsg(st->ix));
    int64_t id;
    rc = index_scope_create(st->ix, name, is_public, (int64_t)time(NULL), &id);
    if (rc == 0)
        rc = index_object_put(st->ix, id, ref, OBJ_SCOPEMETA, blob, size);
    if (rc == 0 && index_commit(st->ix) == 0)
        return 0;
    index_rollback(st->ix);
    if (rc == 1)
        return 1;
    return err_set(err, ERR_INTERNAL, "cannot create scope: %s", index_errmsg(st->ix));
}

int store_object_load(store_t *st, int64_t scope, const char *ref, obj_type_t *type,
                      buf_t *payload, err_t *err)
{
    object_row_t row;
    int rc = index_object_get(st->ix, scope, ref, &row);
    if (rc != 0)
        return rc == 1 ? 1 : err_set(err, ERR_INTERNAL, "index read failed");
    buf_t raw;
    buf_init(&raw);
    char got[REF_HEX];
    if (blob_read(st->bs, st->ix, row.blob, st->lim->max_object_inflated, &raw) != 0) {
        buf_free(&raw);
        return err_set(err, ERR_INTERNAL, "blob %s of object %s is unreadable", row.blob, ref);
    }
    rc = obj_decode(raw.data, raw.len, st->lim->max_object_inflated, type, got, payload, err);
    buf_free(&raw);
    return rc;
}

json_t *store_object_json(store_t *st, int64_t scope, const char *ref, obj_type_t want,
                          err_t *err)
{
    buf_t payload;
    buf_init(&payload);
    obj_type_t type;
    int rc = store_object_load(st, scope, ref, &type, &payload, err);
    json_t *j = NULL;
    if (rc == 0 && type == want) {
        json_error_t je;
        j = json_loadb((const char *)payload.data, payload.len, JSON_ALLOW_NUL, &je);
        if (!j)
            err_set(err, ERR_INTERNAL, "stored object %s is not valid JSON", ref);
    } else if (rc == 0) {
        err_set(err, ERR_INTERNAL, "stored object %s is a %s, not a %s", ref, obj_type_name(type),
                obj_type_name(want));
    } else if (rc == 1) {
        err_set(err, ERR_INTERNAL, "object %s is missing", ref);
    }
    buf_free(&payload);
    return j;
}
