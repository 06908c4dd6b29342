/* The operator's tools on a store holding bitbin283's export of hello (captures/ref-283):
 * gc's race with an upload re-using a blob, gc's grace, fsck on damage, backup and restore.
 * Those run on the file store (inline_blob_max 0: every blob a file); test_inline runs them
 * again on a store with the default, where hello's small blobs are rows of the index. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "capture.h"
#include "export.h"
#include "fsck.h"
#include "gc.h"
#include "log.h"
#include "unit.h"

static store_t st;
static scope_row_t scope;
static limits_t lim = LIMITS_DEFAULT;
static char dir[] = "/tmp/scoped-unit-ops-XXXXXX";
/* objects (and blobs) of the store with hello exported: ScopeMeta, Component, Version,
 * Source, and what persist adds (a VersionHistory) */
static int64_t base;

static void blob_file(const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/blobs/%.2s/%s", dir, name, name + 2);
}

static void set_age(const char *name, int64_t seconds)
{
    char path[512];
    blob_file(name, path, sizeof path);
    struct timespec t[2] = {{time(NULL) - seconds, 0}, {time(NULL) - seconds, 0}};
    CHECK(utimensat(AT_FDCWD, path, t, 0) == 0);
}

static int put(const void *data, size_t len, char name[BLOB_HEX])
{
    blob_batch_t b;
    blob_batch_init(&b, st.bs, st.ix);
    int rc = blob_put(&b, data, len, name) == 0 && blob_batch_sync(&b) == 0 ? 0 : -1;
    blob_batch_free(&b);
    return rc;
}

static int upload(const char *capture, const char *client_id)
{
    buf_t body;
    buf_init(&body);
    err_t err;
    err_init(&err);
    if (!capture_load(capture, &body))
        return -2;
    export_upload_t *u = export_upload_begin(&st, &scope, client_id, "tester", &err);
    int rc = u && export_upload_feed(u, body.data, body.len, &err) == 0 &&
                     export_upload_finish(u, &err) == 0
                 ? 0
                 : -1;
    export_upload_free(u);
    buf_free(&body);
    err_clear(&err);
    return rc;
}

/* st becomes a store in directory d (blobs/, index.db) holding bitbin283's export of hello;
 * files_only: inline_blob_max 0, else the default. */
static void open_with_hello(const char *d, bool files_only)
{
    char path[400];
    snprintf(path, sizeof path, "%s/blobs", d);
    st.bs = blob_open(path);
    if (st.bs && files_only)
        blob_set_inline_max(st.bs, 0);
    snprintf(path, sizeof path, "%s/index.db", d);
    err_t err;
    err_init(&err);
    st.ix = index_open(path, &err);
    CHECK(st.bs && st.ix && index_migrate(st.ix, &err) == 0);
    CHECK(store_scope_create(&st, "myorg.myscope", false, &err) == 0);
    CHECK(index_scope_get(st.ix, "myorg.myscope", &scope) == 0);
    json_t *ids = NULL;
    CHECK(upload("ref-283/004-POST-api_scope_put.req.bin", "1795304967173") == 0);
    CHECK(export_persist(&st, &scope, "1795304967173", "tester", &ids, &err) == 0);
    json_decref(ids);
    err_clear(&err);
}

/* gc moves a blob aside before it deletes it; a writer re-using it either refreshed it first
 * (then it goes back) or finds it gone and stores its own copy. */
static void test_remove_if_stale(void)
{
    static const char data[] = "bytes an upload re-uses";
    char name[BLOB_HEX], again[BLOB_HEX];
    int64_t stale_before = (int64_t)time(NULL) - 60;
    CHECK(put(data, sizeof data, name) == 0);
    set_age(name, 3600);
    CHECK(put(data, sizeof data, again) == 0); /* a writer re-uses it: mtime refreshed */
    CHECK_STR(again, name);
    CHECK(blob_remove_if_stale(st.bs, name, stale_before) == 1);
    CHECK(blob_exists(st.bs, name));
    set_age(name, 3600);
    CHECK(blob_remove_if_stale(st.bs, name, stale_before) == 0);
    CHECK(!blob_exists(st.bs, name));
    CHECK(blob_remove_if_stale(st.bs, name, stale_before) == 1); /* gone already */
    CHECK(put(data, sizeof data, again) == 0); /* after gc took it, a writer stores a copy */
    CHECK(blob_exists(st.bs, name) && blob_verify(st.bs, name));
    CHECK(blob_unlink(st.bs, name) == 0);
}

static void test_gc(void)
{
    char old_orphan[BLOB_HEX], young_orphan[BLOB_HEX];
    CHECK(put("old", 3, old_orphan) == 0);
    CHECK(put("young", 5, young_orphan) == 0);
    set_age(old_orphan, 7200);
    /* a pending export two hours old: expired (pending_expiry 1 h), its blobs free */
    CHECK(upload("ref-283-ops/002-POST-api_scope_put.req.bin", "1795305329355") == 0);
    int64_t n;
    CHECK(index_pending_count(st.ix, &n) == 0 && n == 1);
    CHECK(index_pending_expire(st.ix, (int64_t)time(NULL) + 1, &n) == 0); /* as if 2 h passed */
    CHECK(upload("ref-283-ops/002-POST-api_scope_put.req.bin", "1795305329356") == 0);
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/blobs/tmp/died-upload", dir);
    int fd = open(tmp, O_WRONLY | O_CREAT, 0640);
    CHECK(fd >= 0 && write(fd, "x", 1) == 1 && close(fd) == 0);
    struct timespec t[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
    CHECK(utimensat(AT_FDCWD, tmp, t, 0) == 0);

    gc_stats_t s;
    err_t err;
    err_init(&err);
    /* young blobs are safe: nothing referenced, nothing pending is touched */
    CHECK(gc_run(&st, 3600, 3600, &s, &err) == 0);
    CHECK(s.blobs_deleted == 1 && s.pending_expired == 0 && s.tmp_removed == 1);
    CHECK(!blob_exists(st.bs, old_orphan) && blob_exists(st.bs, young_orphan));
    CHECK(access(tmp, F_OK) != 0);
    /* later on: the pending export has expired, and with a grace of 1 s every unreferenced
     * blob goes */
    CHECK(index_begin(st.ix) == 0);
    CHECK(index_pending_expire(st.ix, (int64_t)time(NULL) + 1, &n) == 0 && n == 1);
    CHECK(index_commit(st.ix) == 0);
    sleep(2);
    CHECK(gc_run(&st, 1, 3600, &s, &err) == 0);
    CHECK(s.blobs_deleted == 7); /* the young orphan, the 6 objects of the expired export */
    CHECK(!blob_exists(st.bs, young_orphan));
    int64_t objects;
    CHECK(index_object_count_all(st.ix, &objects) == 0 && objects == base);
    fsck_report_t rep;
    CHECK(fsck_run(&st, NULL, stderr, &rep, &err) == 0);
    CHECK(rep.problems == 0 && rep.objects == (uint64_t)base && rep.blobs == (uint64_t)base);
}

/* One byte of hello's Version flipped: fsck finds the blob and the row; --repair moves the
 * blob to quarantine, after which the row dangles; the good bytes back, all is well. */
static void test_fsck(void)
{
    err_t err;
    err_init(&err);
    fsck_report_t rep;
    FILE *out = tmpfile();
    CHECK(fsck_run(&st, NULL, out, &rep, &err) == 0);
    CHECK(rep.problems == 0 && rep.objects == (uint64_t)base && rep.components == 1 &&
          rep.tags == 1);
    char ver[REF_HEX];
    object_row_t row;
    CHECK(index_tag_get(st.ix, scope.id, "hello", "1.0.0", ver) == 0);
    CHECK(index_object_get(st.ix, scope.id, ver, &row) == 0 && row.type == OBJ_VERSION);
    char path[512], quarantined[512], quarantine[300];
    blob_file(row.blob, path, sizeof path);
    snprintf(quarantine, sizeof quarantine, "%s/quarantine", dir);
    snprintf(quarantined, sizeof quarantined, "%s/%s", quarantine, row.blob);
    int fd = open(path, O_RDWR);
    unsigned char byte;
    CHECK(fd >= 0 && pread(fd, &byte, 1, 20) == 1);
    byte ^= 0x10;
    CHECK(pwrite(fd, &byte, 1, 20) == 1 && close(fd) == 0);
    CHECK(fsck_run(&st, NULL, out, &rep, &err) == 0);
    CHECK(rep.damaged_blobs == 1 && rep.problems == 2 && rep.quarantined == 0);
    CHECK(fsck_run(&st, quarantine, out, &rep, &err) == 0);
    CHECK(rep.quarantined == 1 && !blob_exists(st.bs, row.blob) && access(quarantined, F_OK) == 0);
    CHECK(fsck_run(&st, NULL, out, &rep, &err) == 0);
    CHECK(rep.damaged_blobs == 0 && rep.problems == 1); /* the row names a missing blob */
    fd = open(quarantined, O_RDWR);
    CHECK(fd >= 0 && pread(fd, &byte, 1, 20) == 1);
    byte ^= 0x10;
    CHECK(pwrite(fd, &byte, 1, 20) == 1 && close(fd) == 0);
    CHECK(rename(quarantined, path) == 0);
    CHECK(fsck_run(&st, NULL, out, &rep, &err) == 0 && rep.problems == 0);
    fclose(out);
}

typedef struct {
    index_t *ix;
    char blob[BLOB_HEX];
} pick_t;

static int pick_pending_only(void *ctx, const char *ref, obj_type_t type, const char *blob,
                             int64_t size)
{
    (void)ref;
    (void)type;
    (void)size;
    pick_t *p = ctx;
    int64_t scope_id;
    char objref[REF_HEX];
    if (index_blob_object_row(p->ix, blob, &scope_id, objref) != 1)
        return 0;
    snprintf(p->blob, sizeof p->blob, "%s", blob);
    return 1;
}

static int restore_and_count(const char *file, const char *target, int64_t *objects,
                             int64_t *pending, fsck_report_t *rep)
{
    err_t err;
    err_init(&err);
    backup_stats_t bs;
    if (backup_restore(file, target, &lim, &bs, &err) != 0) {
        fprintf(stderr, "restore: %s\n", err.msg);
        return -1;
    }
    char blobs[400], path[400];
    snprintf(blobs, sizeof blobs, "%s/blobs", target);
    snprintf(path, sizeof path, "%s/index.db", target);
    store_t r = {index_open(path, &err), blob_open(blobs), &lim};
    FILE *out = tmpfile();
    int rc = r.ix && r.bs && index_object_count_all(r.ix, objects) == 0 &&
                     index_pending_count(r.ix, pending) == 0 &&
                     fsck_run(&r, NULL, out, rep, &err) == 0
                 ? 0
                 : -1;
    fclose(out);
    index_close(r.ix);
    blob_close(r.bs);
    return rc;
}

static void test_backup_restore(void)
{
    err_t err;
    err_init(&err);
    CHECK(upload("ref-283-ops/002-POST-api_scope_put.req.bin", "1795305329400") == 0);
    char file[300], target[300];
    snprintf(file, sizeof file, "%s/backup.zst", dir);
    snprintf(target, sizeof target, "%s/restored", dir);
    backup_stats_t bs;
    CHECK(backup_write(&st, file, &bs, &err) == 0);
    CHECK(bs.blobs == (uint64_t)base + 6 && bs.pending_dropped == 0); /* the pending export's 6 */
    int64_t objects = 0, pending = 0;
    fsck_report_t rep;
    CHECK(restore_and_count(file, target, &objects, &pending, &rep) == 0);
    CHECK(objects == base && pending == 1 && rep.problems == 0 && rep.blobs == (uint64_t)base + 6);
    /* into a directory that holds something: refused */
    CHECK(backup_restore(file, target, &lim, &bs, &err) != 0 && strstr(err.msg, "not empty"));

    /* the pending export loses a blob (it expired and gc took it) after the snapshot: the
     * backup leaves that export out instead of failing */
    pick_t p = {st.ix, ""};
    CHECK(index_pending_object_each(st.ix, scope.id, "1795305329400", pick_pending_only, &p) == 0);
    CHECK(p.blob[0] && blob_unlink(st.bs, p.blob) == 0);
    CHECK(backup_write(&st, file, &bs, &err) == 0);
    CHECK(bs.pending_dropped == 1 && bs.blobs == (uint64_t)base + 5);
    snprintf(target, sizeof target, "%s/restored2", dir);
    CHECK(restore_and_count(file, target, &objects, &pending, &rep) == 0);
    CHECK(objects == base && pending == 0 && rep.problems == 0);

    /* a stored object's blob missing fails the backup, and leaves no file behind */
    char ver[REF_HEX];
    object_row_t row;
    CHECK(index_tag_get(st.ix, scope.id, "hello", "1.0.0", ver) == 0);
    CHECK(index_object_get(st.ix, scope.id, ver, &row) == 0);
    char path[512], aside[512];
    blob_file(row.blob, path, sizeof path);
    snprintf(aside, sizeof aside, "%s/aside", dir);
    CHECK(rename(path, aside) == 0);
    snprintf(file, sizeof file, "%s/backup2.zst", dir);
    CHECK(backup_write(&st, file, &bs, &err) != 0 && strstr(err.msg, "run scoped fsck"));
    CHECK(access(file, F_OK) != 0);
    CHECK(rename(aside, path) == 0);

    /* not a backup: refused, and the target stays as it was (absent) */
    snprintf(target, sizeof target, "%s/restored3", dir);
    CHECK(backup_restore(path, target, &lim, &bs, &err) != 0);
    CHECK(access(target, F_OK) != 0);
}

static int count_files(void *ctx, const char *name, int64_t mtime)
{
    (void)name;
    (void)mtime;
    (*(int64_t *)ctx)++;
    return 0;
}

static void sql(const char *db_path, const char *text)
{
    sqlite3 *db;
    CHECK(sqlite3_open(db_path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, text, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

/* Small blobs as rows of the index: no file per object; fsck checks and quarantines rows; gc
 * collects the rows of an expired export after the grace, and only those; a backup carries
 * them in the index and the restored store checks clean. */
static void test_inline(void)
{
    char d[] = "/tmp/scoped-unit-inline-XXXXXX", db_path[300];
    CHECK(mkdtemp(d) != NULL);
    snprintf(db_path, sizeof db_path, "%s/index.db", d);
    err_t err;
    err_init(&err);
    store_t saved = st;
    scope_row_t saved_scope = scope;
    open_with_hello(d, false);
    CHECK(blob_inline_max(st.bs) == 64 * 1024); /* the default */
    int64_t files = 0, rows = 0, bytes = 0, objects = 0;
    CHECK(blob_each(st.bs, count_files, &files) == 0 && files == 0);
    CHECK(index_blob_data_stats(st.ix, &rows, &bytes) == 0 && rows == base && bytes > 0);
    CHECK(index_object_count_all(st.ix, &objects) == 0 && objects == base);

    /* fsck: clean, then a flipped byte in the Version's row is found and quarantined */
    fsck_report_t rep;
    FILE *out = tmpfile();
    CHECK(fsck_run(&st, NULL, out, &rep, &err) == 0);
    CHECK(rep.problems == 0 && rep.blobs == (uint64_t)base && rep.objects == (uint64_t)base);
    char ver[REF_HEX];
    object_row_t row;
    CHECK(index_tag_get(st.ix, scope.id, "hello", "1.0.0", ver) == 0);
    CHECK(index_object_get(st.ix, scope.id, ver, &row) == 0 && row.type == OBJ_VERSION);
    json_t *vj = store_object_json(&st, scope.id, ver, OBJ_VERSION, &err); /* read from a row */
    CHECK(json_is_object(vj));
    json_decref(vj);
    buf_t good;
    buf_init(&good);
    CHECK(blob_read(st.bs, st.ix, row.blob, 1 << 20, &good) == 0 && good.len > 20);
    char upd[400];
    snprintf(upd, sizeof upd,
             "UPDATE blob_data SET data = substr(data, 1, 20) || x'00' || substr(data, 22)"
             " WHERE name = '%s'", row.blob);
    sql(db_path, upd);
    CHECK(fsck_run(&st, NULL, out, &rep, &err) == 0);
    CHECK(rep.damaged_blobs == 1 && rep.problems == 2 && rep.quarantined == 0);
    char quarantine[300], quarantined[400];
    snprintf(quarantine, sizeof quarantine, "%s/quarantine", d);
    snprintf(quarantined, sizeof quarantined, "%s/%s", quarantine, row.blob);
    CHECK(fsck_run(&st, quarantine, out, &rep, &err) == 0);
    CHECK(rep.quarantined == 1 && access(quarantined, F_OK) == 0);
    CHECK(fsck_run(&st, NULL, out, &rep, &err) == 0);
    CHECK(rep.damaged_blobs == 0 && rep.problems == 1); /* the row names a missing blob */
    blob_batch_t b; /* the good bytes back */
    blob_batch_init(&b, st.bs, st.ix);
    char name[BLOB_HEX];
    CHECK(blob_put(&b, good.data, good.len, name) == 0 && blob_batch_sync(&b) == 0);
    blob_batch_free(&b);
    CHECK_STR(name, row.blob);
    CHECK(fsck_run(&st, NULL, out, &rep, &err) == 0 && rep.problems == 0);
    fclose(out);
    buf_free(&good);

    /* gc: an expired export's rows go once past the grace, the rest stay */
    CHECK(upload("ref-283-ops/002-POST-api_scope_put.req.bin", "1795305329356") == 0);
    CHECK(index_blob_data_stats(st.ix, &rows, &bytes) == 0 && rows == base + 6);
    gc_stats_t s;
    CHECK(gc_run(&st, 3600, 3600, &s, &err) == 0 && s.blobs_deleted == 0);
    int64_t n;
    CHECK(index_begin(st.ix) == 0);
    CHECK(index_pending_expire(st.ix, (int64_t)time(NULL) + 1, &n) == 0 && n >= 1);
    CHECK(index_commit(st.ix) == 0);
    CHECK(gc_run(&st, 3600, 3600, &s, &err) == 0 && s.blobs_deleted == 0); /* young */
    sql(db_path, "UPDATE blob_data SET created_at = created_at - 7200");
    CHECK(gc_run(&st, 3600, 3600, &s, &err) == 0 && s.blobs_deleted == 6 && s.bytes_freed > 0);
    CHECK(index_blob_data_stats(st.ix, &rows, &bytes) == 0 && rows == base);

    /* backup and restore: the rows travel in the index, no blob file in the archive */
    CHECK(upload("ref-283-ops/002-POST-api_scope_put.req.bin", "1795305329400") == 0);
    char file[300], target[300];
    snprintf(file, sizeof file, "%s/backup.zst", d);
    snprintf(target, sizeof target, "%s/restored", d);
    backup_stats_t bs;
    CHECK(backup_write(&st, file, &bs, &err) == 0 && bs.blobs == 0);
    int64_t pending = 0;
    CHECK(restore_and_count(file, target, &objects, &pending, &rep) == 0);
    CHECK(objects == base && pending == 1 && rep.problems == 0 && rep.blobs == (uint64_t)base + 6);

    /* a blob whose row id (the first 64 bits of its name) another name holds is a file */
    static const char taken[] = "a blob whose row id is taken";
    unsigned char digest[32];
    crypto_generichash(digest, sizeof digest, (const unsigned char *)taken, sizeof taken, NULL, 0);
    char hex[BLOB_HEX];
    hex_encode(digest, sizeof digest, hex);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | digest[i];
    int64_t id;
    memcpy(&id, &v, sizeof id);
    char ins[300];
    snprintf(ins, sizeof ins,
             "INSERT INTO blob_data(id, name, data, created_at) VALUES (%lld, '%064d', x'00', 0)",
             (long long)id, 0);
    sql(db_path, ins);
    blob_batch_init(&b, st.bs, st.ix);
    CHECK(blob_put(&b, taken, sizeof taken, name) == 0 && blob_batch_sync(&b) == 0);
    blob_batch_free(&b);
    CHECK_STR(name, hex);
    CHECK(blob_exists(st.bs, name)); /* a file */
    buf_t back;
    buf_init(&back);
    CHECK(blob_read(st.bs, st.ix, name, 1024, &back) == 0 && back.len == sizeof taken &&
          memcmp(back.data, taken, sizeof taken) == 0);
    buf_free(&back);

    index_close(st.ix);
    blob_close(st.bs);
    st = saved;
    scope = saved_scope;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", d);
    if (system(cmd) != 0)
        unit_failed++;
}

UNIT_MAIN("ops", {
    log_level = LOG_ERROR;
    if (!mkdtemp(dir))
        return 1;
    st.lim = &lim;
    open_with_hello(dir, true);
    CHECK(index_object_count_all(st.ix, &base) == 0 && base >= 4);
    test_remove_if_stale();
    test_fsck();
    test_gc();
    test_backup_restore();
    test_inline();
    index_close(st.ix);
    blob_close(st.bs);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        unit_failed++;
})
