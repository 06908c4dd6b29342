/* The first step of an export: a put body streamed into content-addressed blobs and recorded
 * as the pending export of its clientId, in constant memory. */
#include "export.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blob.h"
#include "jsonparse.h"
#include "log.h"
#include "model.h"
#include "objcache.h"
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
    obj_scratch_t z;
    bool whole;    /* the entry is small: kept, and decoded at its end in one call */
    buf_t entry;   /* its bytes */
    bool in_entry;
    char entry_ref[REF_HEX];
    upload_entry_t *entries;
    size_t n, cap;
    refset_t seen;
    err_t *err; /* where the tar callbacks report */
    /* small entries' checks (inflate, SHA-1, JSON), shared with a helper thread */
    pthread_mutex_t q_lock; /* also guards entries while the helper runs */
    pthread_cond_t q_cond;
    struct job *q_head, *q_tail;
    size_t q_bytes;
    bool q_stop, q_failed;
    err_t q_err; /* the first failed check's */
    size_t q_err_idx;
    bool helper;
    pthread_t helper_thread;
    size_t jobs; /* checked before the helper started */
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
    /* bounded by the tar limits; small entries are decoded whole at their end */
    u->whole = size <= 1 * MIB;
    buf_reset(&u->entry);
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
    if (u->whole)
        return buf_append(&u->entry, data, len) ? 0 : (err_set(u->err, ERR_INTERNAL, "out of memory"), 1);
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
 * derives from the payload where the type has one. Components and Versions come out parsed,
 * for the ExportValidate and ExportPersist to come. */
static int check_decoded(obj_decoder_t *d, const char *entry_ref, json_t **parsed, err_t *err)
{
    if (obj_decoder_finish(d, err))
        return -1;
    if (strcmp(d->ref, entry_ref) != 0)
        return err_set(err, ERR_BAD_REQUEST, "tar entry %s holds object %s", entry_ref, d->ref);
    char payload_sha[REF_HEX], expect[REF_HEX];
    sha1_ctx_hex(&d->sha, payload_sha);
    json_t *json = NULL;
    if (obj_type_is_json(d->type)) {
        char why[160];
        json = jsonp_load((const char *)d->payload.data, d->payload.len, why, sizeof why);
        if (!json || !json_is_object(json)) {
            json_decref(json);
            return err_set(err, ERR_BAD_REQUEST, "%s %s is not a JSON object%s%s",
                           obj_type_name(d->type), d->ref, json ? "" : ": ", json ? "" : why);
        }
    }
    int rc = 0;
    if (d->type == OBJ_COMPONENT) {
        component_info_t ci;
        rc = component_info_parse(json, &ci, err);
    } else if (d->type == OBJ_VERSION) {
        version_info_t vi;
        rc = version_info_parse(json, &vi, err);
        version_info_free(&vi);
    }
    if (rc == 0 && obj_expected_ref(d->type, json, payload_sha, expect) &&
        strcmp(expect, d->ref) != 0)
        rc = err_set(err, ERR_BAD_REQUEST, "%s %s does not match its content (expected %s)",
                     obj_type_name(d->type), d->ref, expect);
    if (rc == 0 && (d->type == OBJ_COMPONENT || d->type == OBJ_VERSION)) {
        *parsed = json;
        return 0;
    }
    json_decref(json);
    return rc;
}

/* ---- checking small entries, on this thread and one helper */

/* A small entry waiting to be checked: its bytes, and where its type goes. */
typedef struct job {
    struct job *next;
    size_t idx; /* in entries; SIZE_MAX for a duplicate, checked all the same */
    unsigned char *data;
    size_t len;
    char ref[REF_HEX];
    char blob[BLOB_HEX];
    uint64_t size;
} job_t;

#define QUEUE_BYTES (8u << 20) /* past this, the feeding thread checks entries itself */
#define HELPER_AFTER 32        /* uploads of fewer entries are checked without a helper */

static int run_job(export_upload_t *u, job_t *j, obj_scratch_t *z)
{
    obj_decoder_t d;
    obj_decoder_init(&d, u->st->lim->max_object_inflated);
    err_t err;
    err_init(&err);
    json_t *parsed = NULL;
    int rc = obj_decoder_whole(&d, z, j->data, j->len, &err);
    if (rc == 1) /* streaming zlib tells what is wrong */
        rc = obj_decoder_feed(&d, j->data, j->len, &err);
    if (rc == 0)
        rc = check_decoded(&d, j->ref, &parsed, &err);
    obj_type_t type = d.type;
    obj_decoder_free(&d);
    pthread_mutex_lock(&u->q_lock);
    if (rc != 0 && (!u->q_failed || j->idx < u->q_err_idx)) {
        err_clear(&u->q_err);
        u->q_err = err; /* the first entry's error, as a check in order would find */
        u->q_err_idx = j->idx;
        u->q_failed = true;
        err_init(&err);
    } else if (rc == 0 && j->idx != SIZE_MAX) {
        u->entries[j->idx].type = type;
    }
    pthread_mutex_unlock(&u->q_lock);
    err_clear(&err);
    if (parsed)
        objcache_put(j->blob, parsed, (size_t)j->size);
    free(j->data);
    free(j);
    return rc;
}

static job_t *pop_job(export_upload_t *u)
{
    job_t *j = u->q_head;
    if (j) {
        u->q_head = j->next;
        if (!u->q_head)
            u->q_tail = NULL;
        u->q_bytes -= j->len;
    }
    return j;
}

static void *helper_main(void *arg)
{
    export_upload_t *u = arg;
    obj_scratch_t z = {0};
    pthread_mutex_lock(&u->q_lock);
    for (;;) {
        job_t *j = pop_job(u);
        if (!j) {
            if (u->q_stop)
                break;
            pthread_cond_wait(&u->q_cond, &u->q_lock);
            continue;
        }
        pthread_mutex_unlock(&u->q_lock);
        run_job(u, j, &z);
        pthread_mutex_lock(&u->q_lock);
    }
    pthread_mutex_unlock(&u->q_lock);
    obj_scratch_free(&z);
    return NULL;
}

/* Queues a small entry's check, or runs it here: for small uploads, and while the queue is
 * full (the helper is behind). */
static int submit_job(export_upload_t *u, job_t *j)
{
    if (!u->helper && u->jobs < HELPER_AFTER) {
        u->jobs++;
        return run_job(u, j, &u->z);
    }
    if (!u->helper) {
        if (pthread_create(&u->helper_thread, NULL, helper_main, u) != 0)
            return run_job(u, j, &u->z);
        u->helper = true;
    }
    pthread_mutex_lock(&u->q_lock);
    j->next = NULL;
    if (u->q_tail)
        u->q_tail->next = j;
    else
        u->q_head = j;
    u->q_tail = j;
    u->q_bytes += j->len;
    pthread_cond_signal(&u->q_cond);
    job_t *mine = u->q_bytes > QUEUE_BYTES ? pop_job(u) : NULL;
    bool failed = u->q_failed;
    pthread_mutex_unlock(&u->q_lock);
    if (mine)
        run_job(u, mine, &u->z);
    return failed ? -1 : 0;
}

/* Waits for every queued check; the helper ends. -1 when one failed (err says which). */
static int drain_jobs(export_upload_t *u, err_t *err)
{
    if (u->helper) {
        for (;;) {
            pthread_mutex_lock(&u->q_lock);
            job_t *j = pop_job(u);
            if (!j) {
                u->q_stop = true;
                pthread_cond_signal(&u->q_cond);
            }
            pthread_mutex_unlock(&u->q_lock);
            if (!j)
                break;
            run_job(u, j, &u->z);
        }
        pthread_join(u->helper_thread, NULL);
        u->helper = false;
    }
    if (!u->q_failed)
        return 0;
    if (err && err->kind == ERR_NONE) {
        *err = u->q_err;
        err_init(&u->q_err);
    }
    return -1;
}

static int add_entry(export_upload_t *u, const upload_entry_t *e, size_t *idx)
{
    int added = refset_add_checked(&u->seen, e->ref);
    if (added < 0)
        return err_set(u->err, ERR_INTERNAL, "out of memory"), 1;
    *idx = SIZE_MAX;
    if (added == 0)
        return 0; /* a duplicate entry: the client de-duplicates too */
    pthread_mutex_lock(&u->q_lock); /* the helper writes types into entries */
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        upload_entry_t *p = realloc(u->entries, cap * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&u->q_lock);
            return err_set(u->err, ERR_INTERNAL, "out of memory"), 1;
        }
        u->entries = p;
        u->cap = cap;
    }
    *idx = u->n;
    u->entries[u->n++] = *e;
    pthread_mutex_unlock(&u->q_lock);
    return 0;
}

static int upload_entry_end(void *ctx)
{
    export_upload_t *u = ctx;
    upload_entry_t e = {.type = OBJ_UNKNOWN};
    memcpy(e.ref, u->entry_ref, REF_HEX);
    json_t *parsed = NULL;
    if (!u->whole) { /* a large entry, decoded as it streamed in */
        if (check_decoded(&u->dec, u->entry_ref, &parsed, u->err) != 0) {
            upload_entry_drop(u);
            return 1;
        }
        e.type = u->dec.type;
    }
    obj_decoder_free(&u->dec);
    u->in_entry = false;
    uint64_t size;
    int rc = blob_writer_commit(u->w, e.blob, &size);
    u->w = NULL;
    if (rc != 0) {
        json_decref(parsed);
        return err_set(u->err, ERR_INTERNAL, "cannot store the upload"), 1;
    }
    e.size = (int64_t)size;
    if (parsed)
        objcache_put(e.blob, parsed, (size_t)size);
    size_t idx;
    if (add_entry(u, &e, &idx) != 0)
        return 1;
    if (!u->whole)
        return 0;
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return err_set(u->err, ERR_INTERNAL, "out of memory"), 1;
    j->idx = idx;
    j->data = u->entry.data; /* the job owns the bytes now */
    j->len = u->entry.len;
    buf_init(&u->entry);
    memcpy(j->ref, e.ref, REF_HEX);
    memcpy(j->blob, e.blob, BLOB_HEX);
    j->size = size;
    if (submit_job(u, j) != 0) {
        drain_jobs(u, u->err);
        return 1;
    }
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
    pthread_mutex_init(&u->q_lock, NULL);
    pthread_cond_init(&u->q_cond, NULL);
    err_init(&u->q_err);
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

static int entry_by_ref(const void *a, const void *b)
{
    return strcmp((*(upload_entry_t *const *)a)->ref, (*(upload_entry_t *const *)b)->ref);
}

/* The pending export's rows and the upload's small blobs, in one transaction. The blobs go in
 * while the helper still checks the last entries; the rows, which need their types, after. */
static int upload_commit(export_upload_t *u, index_t *ix, err_t *err)
{
    if (index_begin(ix) != 0)
        return -1;
    index_quiet(ix); /* pending rows are in no reply until ExportPersist */
    int64_t now = (int64_t)time(NULL);
    int rc = blob_batch_sync(&u->batch) == 0 ? 0 : -1;
    if (drain_jobs(u, err) != 0) {
        index_rollback(ix);
        return 2;
    }
    if (rc == 0)
        rc = index_pending_create(ix, u->scope.id, u->client_id, u->owner[0] ? u->owner : NULL, now);
    /* in ref order, the table's key order; the entries keep tar order for error reports */
    upload_entry_t **order = u->n ? malloc(u->n * sizeof *order) : NULL;
    if (u->n && !order)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < u->n; i++)
        order[i] = &u->entries[i];
    if (rc == 0 && u->n)
        qsort(order, u->n, sizeof *order, entry_by_ref);
    for (size_t i = 0; rc == 0 && i < u->n; i++) {
        upload_entry_t *e = order[i];
        rc = index_pending_object_put(ix, u->scope.id, u->client_id, e->ref, e->type, e->blob,
                                      e->size);
    }
    free(order);
    if (rc == 0 && index_commit(ix) == 0)
        return 0;
    index_rollback(ix);
    return rc == 1 ? 1 : -1;
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
    /* No fsync for the upload: nothing is acknowledged until ExportPersist, whose synced
     * commit makes these rows durable too. A power cut before it loses the upload whole, and
     * ExportPersist then answers that there is no pending export: the client exports again. */
    if (index_synced(ix, false) != 0)
        return err_set(err, ERR_INTERNAL, "index unavailable");
    int rc = upload_commit(u, ix, err);
    if (index_synced(ix, true) != 0)
        log_error("msg=\"cannot set the index back to synced commits\" error=\"%s\"", index_errmsg(ix));
    if (rc == 0)
        return 0;
    if (rc == 2)
        return -1; /* a check failed: err says which */
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
    if (u->helper) { /* a failed upload: what is queued is not checked */
        pthread_mutex_lock(&u->q_lock);
        for (job_t *j; (j = pop_job(u)) != NULL;) {
            free(j->data);
            free(j);
        }
        u->q_stop = true;
        pthread_cond_signal(&u->q_cond);
        pthread_mutex_unlock(&u->q_lock);
        pthread_join(u->helper_thread, NULL);
    }
    err_clear(&u->q_err);
    pthread_mutex_destroy(&u->q_lock);
    pthread_cond_destroy(&u->q_cond);
    tar_reader_free(u->tar);
    blob_batch_free(&u->batch);
    obj_scratch_free(&u->z);
    buf_free(&u->entry);
    refset_free(&u->seen);
    free(u->entries);
    free(u);
}

