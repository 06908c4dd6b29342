#include "fsck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    int64_t id;
    char name[NAME_MAX_LEN];
} scope_name_t;

/* What a blob holds, decoded once for every row that names it (rows come in blob order). */
typedef enum { BC_OK, BC_MISSING, BC_DAMAGED, BC_UNDECODABLE } blob_state_t;

typedef struct {
    char blob[BLOB_HEX];
    blob_state_t state;
    char why[640];
    obj_type_t type;
    char ref[REF_HEX];
    bool derivable;
    char expected[REF_HEX]; /* the ref Bit derives from the content, when derivable */
    uint64_t size;
} blob_check_t;

typedef struct {
    store_t *st;
    FILE *out;
    fsck_report_t *rep;
    const char *quarantine;
    scope_name_t *scopes;
    size_t nscopes;
    char (*bad)[BLOB_HEX]; /* blobs whose content does not match their name, sorted */
    size_t nbad, capbad;
    blob_check_t cache;
    bool out_of_memory;
    int64_t scope; /* of the component being checked */
    const char *component;
} fsck_t;

static const char *scope_name(fsck_t *f, int64_t id)
{
    for (size_t i = 0; i < f->nscopes; i++)
        if (f->scopes[i].id == id)
            return f->scopes[i].name;
    return "(unknown scope)";
}

static void problem(fsck_t *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(fsck_t *f, const char *fmt, ...)
{
    f->rep->problems++;
    va_list ap;
    va_start(ap, fmt);
    fputs("damage: ", f->out);
    vfprintf(f->out, fmt, ap);
    fputc('\n', f->out);
    va_end(ap);
}

static int collect_scope(void *ctx, const scope_row_t *s)
{
    fsck_t *f = ctx;
    void *p = realloc(f->scopes, (f->nscopes + 1) * sizeof *f->scopes);
    if (!p)
        return f->out_of_memory = true, 1;
    f->scopes = p;
    f->scopes[f->nscopes].id = s->id;
    snprintf(f->scopes[f->nscopes].name, NAME_MAX_LEN, "%s", s->name);
    f->nscopes++;
    return 0;
}

static int index_problem(void *ctx, const char *text)
{
    fsck_t *f = ctx;
    problem(f, "index: sqlite quick_check: %s", text);
    return 0;
}

static int add_bad(fsck_t *f, const char *name)
{
    if (f->nbad == f->capbad) {
        size_t cap = f->capbad ? f->capbad * 2 : 16;
        void *p = realloc(f->bad, cap * sizeof *f->bad);
        if (!p)
            return f->out_of_memory = true, 1;
        f->bad = p;
        f->capbad = cap;
    }
    memcpy(f->bad[f->nbad++], name, BLOB_HEX);
    f->rep->damaged_blobs++;
    problem(f, "blob %s: its content does not match its name", name);
    return 0;
}

static int check_blob_name(void *ctx, const char *name, int64_t mtime)
{
    (void)mtime;
    fsck_t *f = ctx;
    f->rep->blobs++;
    if (blob_verify(f->st->bs, name) || !blob_exists(f->st->bs, name))
        return 0; /* a blob gc removed meanwhile is no damage */
    if (add_bad(f, name))
        return 1;
    if (f->quarantine) {
        if (blob_quarantine(f->st->bs, name, f->quarantine) == 0) {
            f->rep->quarantined++;
            fprintf(f->out, "repair: blob %s moved to %s/%s\n", name, f->quarantine, name);
        } else {
            fprintf(f->out, "repair: cannot move blob %s to %s: %s\n", name, f->quarantine,
                    strerror(errno));
        }
    }
    return 0;
}

static int check_inline_blob(void *ctx, const char *name, const void *data, size_t len)
{
    fsck_t *f = ctx;
    f->rep->blobs++;
    unsigned char digest[32];
    char hex[BLOB_HEX];
    crypto_generichash(digest, sizeof digest, data, len, NULL, 0);
    hex_encode(digest, sizeof digest, hex);
    return strcmp(hex, name) == 0 ? 0 : add_bad(f, name);
}

/* --repair for damaged inline blobs: the bytes go to the quarantine directory as a file, the
 * row goes. After the walk, which must not see its own table change. */
static void quarantine_inline(fsck_t *f, size_t from)
{
    buf_t data;
    buf_init(&data);
    for (size_t i = from; i < f->nbad; i++) {
        const char *name = f->bad[i];
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", f->quarantine, name);
        FILE *fp = NULL;
        bool ok = index_blob_data_get(f->st->ix, name, UINT64_MAX - 1, &data) == 0 &&
                  (mkdir(f->quarantine, 0750) == 0 || errno == EEXIST) &&
                  (fp = fopen(path, "wbx")) != NULL && fwrite(data.data, 1, data.len, fp) == data.len;
        if (fp && fclose(fp) != 0)
            ok = false;
        if (ok && index_blob_data_delete(f->st->ix, name) == 0) {
            f->rep->quarantined++;
            fprintf(f->out, "repair: blob %s moved to %s/%s\n", name, f->quarantine, name);
        } else {
            fprintf(f->out, "repair: cannot move blob %s to %s: %s\n", name, f->quarantine,
                    strerror(errno));
        }
    }
    buf_free(&data);
}

/* The blob is stored, as a file or a row. */
static bool blob_stored(fsck_t *f, const char *blob)
{
    if (blob_exists(f->st->bs, blob))
        return true;
    buf_t data;
    buf_init(&data);
    bool found = index_blob_data_get(f->st->ix, blob, UINT64_MAX - 1, &data) == 0;
    buf_free(&data);
    return found;
}

static int blob_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static bool is_bad(fsck_t *f, const char *blob)
{
    return f->nbad && bsearch(blob, f->bad, f->nbad, sizeof *f->bad, blob_cmp) != NULL;
}

static void decode_blob(fsck_t *f, const char *blob, blob_check_t *bc)
{
    memset(bc, 0, sizeof *bc);
    snprintf(bc->blob, sizeof bc->blob, "%s", blob);
    if (is_bad(f, blob)) {
        bc->state = BC_DAMAGED;
        snprintf(bc->why, sizeof bc->why, "its blob %s is damaged%s", blob,
                 f->quarantine ? " (quarantined)" : "");
        return;
    }
    int fd = blob_open_fd(f->st->bs, blob);
    struct stat st;
    buf_t mem; /* an inline blob's bytes */
    buf_init(&mem);
    bool inl = fd < 0 && index_blob_data_get(f->st->ix, blob, UINT64_MAX - 1, &mem) == 0;
    if (!inl && (fd < 0 || fstat(fd, &st) != 0)) {
        if (fd >= 0)
            close(fd);
        bc->state = BC_MISSING;
        snprintf(bc->why, sizeof bc->why, "its blob %s is missing", blob);
        return;
    }
    bc->size = inl ? (uint64_t)mem.len : (uint64_t)st.st_size;
    obj_decoder_t d;
    obj_decoder_init(&d, f->st->lim->max_object_inflated);
    err_t err;
    err_init(&err);
    unsigned char chunk[65536];
    ssize_t n;
    int rc = 0;
    if (inl)
        rc = obj_decoder_feed(&d, mem.data, mem.len, &err);
    while (!inl && rc == 0 && (n = read(fd, chunk, sizeof chunk)) > 0)
        rc = obj_decoder_feed(&d, chunk, (size_t)n, &err);
    if (!inl)
        close(fd);
    buf_free(&mem);
    if (rc == 0)
        rc = obj_decoder_finish(&d, &err);
    if (rc == 0) {
        bc->type = d.type;
        memcpy(bc->ref, d.ref, REF_HEX);
        char payload_sha[REF_HEX];
        sha1_ctx_hex(&d.sha, payload_sha);
        json_t *json = NULL;
        if (obj_type_is_json(d.type))
            json = json_loadb((const char *)d.payload.data, d.payload.len, 0, NULL);
        if (obj_type_is_json(d.type) && !json_is_object(json)) {
            rc = err_set(&err, ERR_BAD_REQUEST, "its payload is not a JSON object");
        } else {
            bc->derivable = obj_expected_ref(d.type, json, payload_sha, bc->expected);
        }
        json_decref(json);
    }
    obj_decoder_free(&d);
    if (rc != 0) {
        bc->state = BC_UNDECODABLE;
        snprintf(bc->why, sizeof bc->why, "its blob %s does not decode: %s", blob, err.msg);
    }
}

static const blob_check_t *blob_check(fsck_t *f, const char *blob)
{
    if (strcmp(f->cache.blob, blob) != 0)
        decode_blob(f, blob, &f->cache);
    return &f->cache;
}

static int check_object(void *ctx, int64_t scope, const char *ref, obj_type_t type,
                        const char *blob, int64_t size)
{
    fsck_t *f = ctx;
    f->rep->objects++;
    const blob_check_t *bc = blob_check(f, blob);
    const char *s = scope_name(f, scope);
    if (bc->state != BC_OK) {
        problem(f, "object %s/%s (%s): %s", s, ref, obj_type_name(type), bc->why);
        return 0;
    }
    if ((uint64_t)size != bc->size)
        problem(f, "object %s/%s: the index says %lld bytes, its blob %s has %llu", s, ref,
                (long long)size, blob, (unsigned long long)bc->size);
    if (bc->type != type)
        problem(f, "object %s/%s: the index says %s, its blob %s holds a %s", s, ref,
                obj_type_name(type), blob, obj_type_name(bc->type));
    if (strcmp(bc->ref, ref) != 0)
        problem(f, "object %s/%s: its blob %s holds object %s", s, ref, blob, bc->ref);
    else if (bc->derivable && strcmp(bc->expected, ref) != 0)
        problem(f, "object %s/%s (%s): its content derives ref %s", s, ref, obj_type_name(type),
                bc->expected);
    return 0;
}

static int check_pending(void *ctx, int64_t scope, const char *client_id, const char *ref,
                         obj_type_t type, const char *blob, int64_t size)
{
    (void)type;
    (void)size;
    fsck_t *f = ctx;
    f->rep->pending_objects++;
    if (is_bad(f, blob)) {
        problem(f, "pending export %s clientId %s: object %s: its blob %s is damaged",
                scope_name(f, scope), client_id, ref, blob);
        return 0;
    }
    /* the export may have expired and gc taken its blobs meanwhile: ask again */
    if (!blob_stored(f, blob) && index_blob_referenced(f->st->ix, blob) == 0 &&
        !blob_stored(f, blob))
        problem(f, "pending export %s clientId %s: object %s: its blob %s is missing",
                scope_name(f, scope), client_id, ref, blob);
    return 0;
}

static void expect_object(fsck_t *f, const char *what, const char *ref, obj_type_t want)
{
    object_row_t row;
    int rc = index_object_get(f->st->ix, f->scope, ref, &row);
    if (rc == 1)
        problem(f, "%s: no object %s in the scope", what, ref);
    else if (rc < 0)
        problem(f, "%s: index read failed: %s", what, index_errmsg(f->st->ix));
    else if (row.type != want)
        problem(f, "%s: object %s is a %s, not a %s", what, ref, obj_type_name(row.type),
                obj_type_name(want));
}

static int check_tag(void *ctx, const char *tag, const char *version)
{
    fsck_t *f = ctx;
    f->rep->tags++;
    char what[NAME_MAX_LEN * 3];
    snprintf(what, sizeof what, "tag %s/%s@%s", scope_name(f, f->scope), f->component, tag);
    expect_object(f, what, version, OBJ_VERSION);
    return 0;
}

static int check_component(void *ctx, const component_row_t *c)
{
    fsck_t *f = ctx;
    f->rep->components++;
    char what[NAME_MAX_LEN * 3];
    snprintf(what, sizeof what, "component %s/%s", scope_name(f, f->scope), c->name);
    expect_object(f, what, c->ref, OBJ_COMPONENT);
    if (c->head[0]) {
        char head[NAME_MAX_LEN * 3 + 8];
        snprintf(head, sizeof head, "%s head", what);
        expect_object(f, head, c->head, OBJ_VERSION);
    }
    f->component = c->name;
    if (index_tag_each(f->st->ix, f->scope, c->name, check_tag, f) != 0)
        problem(f, "%s: cannot read its tags", what);
    return 0;
}

static int check_lane(void *ctx, const char *name, const char *ref)
{
    fsck_t *f = ctx;
    f->rep->lanes++;
    char what[NAME_MAX_LEN * 3];
    snprintf(what, sizeof what, "lane %s/%s", scope_name(f, f->scope), name);
    expect_object(f, what, ref, OBJ_LANE);
    return 0;
}

int fsck_run(store_t *st, const char *quarantine, FILE *out, fsck_report_t *rep, err_t *err)
{
    *rep = (fsck_report_t){0};
    fsck_t f = {.st = st, .out = out, .rep = rep, .quarantine = quarantine};
    int rc = -1;
    if (index_scope_each(st->ix, collect_scope, &f) != 0 || f.out_of_memory) {
        err_set(err, ERR_INTERNAL, "cannot read the scopes: %s", index_errmsg(st->ix));
        goto done;
    }
    if (index_quick_check(st->ix, index_problem, &f) < 0) {
        err_set(err, ERR_INTERNAL, "cannot check the index: %s", index_errmsg(st->ix));
        goto done;
    }
    if (blob_each(st->bs, check_blob_name, &f) != 0 || f.out_of_memory) {
        err_set(err, ERR_INTERNAL, "cannot list the blob store");
        goto done;
    }
    size_t files_bad = f.nbad;
    if (index_blob_data_each(st->ix, check_inline_blob, &f) != 0 || f.out_of_memory) {
        err_set(err, ERR_INTERNAL, "cannot read the inline blobs: %s", index_errmsg(st->ix));
        goto done;
    }
    if (f.quarantine)
        quarantine_inline(&f, files_bad);
    if (f.nbad)
        qsort(f.bad, f.nbad, sizeof *f.bad, blob_cmp);
    if (index_object_each_all(st->ix, check_object, &f) != 0 ||
        index_pending_object_each_all(st->ix, check_pending, &f) != 0) {
        err_set(err, ERR_INTERNAL, "cannot read the object rows: %s", index_errmsg(st->ix));
        goto done;
    }
    for (size_t i = 0; i < f.nscopes; i++) {
        f.scope = f.scopes[i].id;
        if (index_component_each(st->ix, f.scope, check_component, &f) != 0 ||
            index_lane_each(st->ix, f.scope, check_lane, &f) != 0) {
            err_set(err, ERR_INTERNAL, "cannot read the components and lanes: %s",
                    index_errmsg(st->ix));
            goto done;
        }
    }
    rc = 0;
done:
    free(f.scopes);
    free(f.bad);
    return rc;
}
