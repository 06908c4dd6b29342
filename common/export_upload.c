/* The first step of an export: a put body streamed into content-addressed blobs and recorded
 * as the pending export of its clientId, in constant memory. */
#include "export.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blob.h"
#include "log.h"
#include "model.h"
#include "refset.h"
#include "tar.h"

/* ---- upload */

typedef struct {
    char ref[REF_HEX];
    obj_type_t type;
    char blob[BLOB_HEX];
    int64_t size;
} upload_entry_t;

struct export_upload {
    store_t st_copy; /* the caller's store_t may not outlive begin */
    store_t *st;
    scope_row_t scope;
    char client_id[130];
    char owner[NAME_MAX_LEN];
    tar_reader_t *tar;
    blob_batch_t batch;
    blob_writer_t *w;
    obj_decoder_t dec;
    bool in_entry;
    char entry_ref[REF_HEX];
    upload_entry_t *entries;
    size_t n, cap;
    refset_t seen;
    err_t *err; /* where the tar callbacks report */
};

uint64_t export_upload_objects(const export_upload_t *u)
{
    return u->n;
}

/* Entry names are "<40-hex>" or "<scope>/<40-hex>"; nothing else can name an object. */
static int upload_entry_begin(void *ctx, const char *name, uint64_t size)
{
    export_upload_t *u = ctx;
    const char *slash = strrchr(name, '/');
    const char *ref = slash ? slash + 1 : name;
    if (slash) {
        char scope[NAME_MAX_LEN];
        size_t sl = (size_t)(slash - name);
        if (sl >= sizeof scope)
            return err_set(u->err, ERR_BAD_REQUEST, "tar entry name is not an object hash"), 1;
        memcpy(scope, name, sl);
        scope[sl] = 0;
        if (!scope_name_valid(scope))
            return err_set(u->err, ERR_BAD_REQUEST, "tar entry name is not an object hash"), 1;
    }
    if (!is_ref40(ref, strlen(ref)))
        return err_set(u->err, ERR_BAD_REQUEST, "tar entry name is not an object hash"), 1;
    if (u->n >= u->st->lim->max_put_objects)
        return err_set(u->err, ERR_TOO_LARGE, "more than %llu objects in one put",
                       (unsigned long long)u->st->lim->max_put_objects),
               1;
    (void)size; /* bounded by the tar limits */
    memcpy(u->entry_ref, ref, REF_HEX);
    u->w = blob_writer_new(&u->batch);
    if (!u->w)
        return err_set(u->err, ERR_INTERNAL, "cannot store the upload"), 1;
    obj_decoder_init(&u->dec, u->st->lim->max_object_inflated);
    u->in_entry = true;
    return 0;
}

static int upload_entry_data(void *ctx, const unsigned char *data, size_t len)
{
    export_upload_t *u = ctx;
    if (blob_writer_write(u->w, data, len) != 0)
        return err_set(u->err, ERR_INTERNAL, "cannot store the upload"), 1;
    return obj_decoder_feed(&u->dec, data, len, u->err) ? 1 : 0;
}

static void upload_entry_drop(export_upload_t *u)
{
    if (u->w)
        blob_writer_abort(u->w);
    u->w = NULL;
    if (u->in_entry)
        obj_decoder_free(&u->dec);
    u->in_entry = false;
}

/* The object must be what its name says: same ref in its header, and a ref Bit's rule
 * derives from the payload where the type has one. */
static int check_object(export_upload_t *u)
{
    obj_decoder_t *d = &u->dec;
    if (obj_decoder_finish(d, u->err))
        return -1;
    if (strcmp(d->ref, u->entry_ref) != 0)
        return err_set(u->err, ERR_BAD_REQUEST, "tar entry %s holds object %s", u->entry_ref,
                       d->ref);
    char payload_sha[REF_HEX], expect[REF_HEX];
    sha1_ctx_hex(&d->sha, payload_sha);
    json_t *json = NULL;
    if (obj_type_is_json(d->type)) {
        json_error_t je;
        json = json_loadb((const char *)d->payload.data, d->payload.len, JSON_REJECT_DUPLICATES, &je);
        if (!json || !json_is_object(json)) {
            json_decref(json);
            return err_set(u->err, ERR_BAD_REQUEST, "%s %s is not a JSON object: %s",
                           obj_type_name(d->type), d->ref, je.text);
        }
    }
    int rc = 0;
    if (d->type == OBJ_COMPONENT) {
        component_info_t ci;
        rc = component_info_parse(json, &ci, u->err);
    } else if (d->type == OBJ_VERSION) {
        version_info_t vi;
        rc = version_info_parse(json, &vi, u->err);
        version_info_free(&vi);
    }
    if (rc == 0 && obj_expected_ref(d->type, json, payload_sha, expect) &&
        strcmp(expect, d->ref) != 0)
        rc = err_set(u->err, ERR_BAD_REQUEST, "%s %s does not match its content (expected %s)",
                     obj_type_name(d->type), d->ref, expect);
    json_decref(json);
    return rc;
}

static int upload_entry_end(void *ctx)
{
    export_upload_t *u = ctx;
    if (check_object(u) != 0) {
        upload_entry_drop(u);
        return 1;
    }
    upload_entry_t e;
    memcpy(e.ref, u->dec.ref, REF_HEX);
    e.type = u->dec.type;
    obj_decoder_free(&u->dec);
    u->in_entry = false;
    uint64_t size;
    int rc = blob_writer_commit(u->w, e.blob, &size);
    u->w = NULL;
    if (rc != 0)
        return err_set(u->err, ERR_INTERNAL, "cannot store the upload"), 1;
    e.size = (int64_t)size;
    int added = refset_add_checked(&u->seen, e.ref);
    if (added < 0)
        return err_set(u->err, ERR_INTERNAL, "out of memory"), 1;
    if (added == 0)
        return 0; /* a duplicate entry: the client de-duplicates too */
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        upload_entry_t *p = realloc(u->entries, cap * sizeof *p);
        if (!p)
            return err_set(u->err, ERR_INTERNAL, "out of memory"), 1;
        u->entries = p;
        u->cap = cap;
    }
    u->entries[u->n++] = e;
    return 0;
}

export_upload_t *export_upload_begin(store_t *st, const scope_row_t *scope, const char *client_id,
                                     const char *owner, err_t *err)
{
    if (!client_id_valid(client_id)) {
        err_set(err, ERR_BAD_REQUEST, "invalid clientId in push-options");
        return NULL;
    }
    pending_row_t p = {0};
    int rc = index_pending_get(st->ix, scope->id, client_id, &p);
    free(p.result);
    if (rc == 0) {
        err_set(err, ERR_CLIENT_ID_IN_USE, "clientId %s is already in use", client_id);
        err_field(err, "clientId", json_string(client_id));
        return NULL;
    }
    if (rc < 0) {
        err_set(err, ERR_INTERNAL, "index read failed");
        return NULL;
    }
    int64_t held = 0;
    if (owner && index_pending_count_owner(st->ix, owner, &held) != 0) {
        err_set(err, ERR_INTERNAL, "index read failed");
        return NULL;
    }
    if ((uint64_t)held >= st->lim->max_pending_per_user) {
        err_set(err, ERR_RATE_LIMITED,
                "%s has %lld pending exports already: persist or remove one first",
                owner, (long long)held);
        return NULL;
    }
    export_upload_t *u = calloc(1, sizeof *u);
    if (!u) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    u->st_copy = *st;
    u->st = &u->st_copy;
    u->scope = *scope;
    snprintf(u->client_id, sizeof u->client_id, "%s", client_id);
    snprintf(u->owner, sizeof u->owner, "%s", owner ? owner : "");
    blob_batch_init(&u->batch, st->bs, st->ix);
    refset_init(&u->seen);
    static const tar_callbacks_t cb = {upload_entry_begin, upload_entry_data, upload_entry_end};
    /* a compressed object is at most a little larger than what it inflates to */
    tar_limits_t lim = {.max_entry_size = st->lim->max_object_inflated + 1 * MIB,
                        .max_pax_size = (size_t)st->lim->max_tar_header,
                        .max_name_len = 255};
    u->tar = tar_reader_new(&cb, u, &lim);
    if (!u->tar) {
        free(u);
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    return u;
}

int export_upload_feed(export_upload_t *u, const unsigned char *data, size_t len, err_t *err)
{
    u->err = err;
    int rc = tar_reader_feed(u->tar, data, len);
    if (rc == TAR_OK)
        return 0;
    if (err->kind == ERR_NONE)
        err_set(err, rc == TAR_ERR_LIMIT ? ERR_TOO_LARGE : ERR_BAD_REQUEST, "invalid tar: %s",
                tar_reader_error(u->tar));
    upload_entry_drop(u);
    return -1;
}

void export_upload_set_index(export_upload_t *u, index_t *ix)
{
    u->st_copy.ix = ix;
    if (u->batch.ix)
        u->batch.ix = ix;
}

int export_upload_finish(export_upload_t *u, err_t *err)
{
    u->err = err;
    if (tar_reader_finish(u->tar) != TAR_OK) {
        upload_entry_drop(u);
        return err_set(err, ERR_BAD_REQUEST, "invalid tar: %s", tar_reader_error(u->tar));
    }
    /* large blobs are files, made durable before the transaction; small ones are rows of it */
    if (blob_batch_sync_files(&u->batch) != 0)
        return err_set(err, ERR_INTERNAL, "cannot make the upload durable");
    index_t *ix = u->st->ix;
    if (index_begin(ix) != 0)
        return err_set(err, ERR_INTERNAL, "index busy");
    index_quiet(ix); /* pending rows are in no reply until ExportPersist */
    int64_t now = (int64_t)time(NULL);
    int rc = blob_batch_sync(&u->batch) == 0 ? 0 : -1;
    if (rc == 0)
        rc = index_pending_create(ix, u->scope.id, u->client_id, u->owner[0] ? u->owner : NULL, now);
    for (size_t i = 0; rc == 0 && i < u->n; i++) {
        upload_entry_t *e = &u->entries[i];
        rc = index_pending_object_put(ix, u->scope.id, u->client_id, e->ref, e->type, e->blob,
                                      e->size);
    }
    if (rc == 0 && index_commit(ix) == 0)
        return 0;
    index_rollback(ix);
    if (rc == 1) {
        err_set(err, ERR_CLIENT_ID_IN_USE, "clientId %s is already in use", u->client_id);
        err_field(err, "clientId", json_string(u->client_id));
        return -1;
    }
    return err_set(err, ERR_INTERNAL, "cannot record the upload: %s", index_errmsg(ix));
}

void export_upload_free(export_upload_t *u)
{
    if (!u)
        return;
    upload_entry_drop(u);
    tar_reader_free(u->tar);
    blob_batch_free(&u->batch);
    refset_free(&u->seen);
    free(u->entries);
    free(u);
}

