#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "tar.h"

#define CHUNK 65536

/* ---- writing */

typedef struct {
    ZSTD_CCtx *cctx;
    int fd;
    unsigned char out[CHUNK];
    uint64_t written;
    int failed_errno;
} zout_t;

static int write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int zout_push(zout_t *z, const void *data, size_t len, ZSTD_EndDirective mode)
{
    ZSTD_inBuffer in = {data, len, 0};
    for (;;) {
        ZSTD_outBuffer out = {z->out, sizeof z->out, 0};
        size_t left = ZSTD_compressStream2(z->cctx, &out, &in, mode);
        if (ZSTD_isError(left))
            return -1;
        if (out.pos && write_all(z->fd, z->out, out.pos) != 0) {
            z->failed_errno = errno;
            return -1;
        }
        z->written += out.pos;
        if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
            return 0;
    }
}

static int zout_write(zout_t *z, const void *data, size_t len)
{
    return zout_push(z, data, len, ZSTD_e_continue);
}

static int tar_entry_begin(zout_t *z, const char *name, uint64_t size)
{
    unsigned char h[TAR_BLOCK];
    tar_header_write(h, name, size, (long long)time(NULL));
    return zout_write(z, h, sizeof h);
}

static int tar_entry_end(zout_t *z, uint64_t size)
{
    static const unsigned char zeros[TAR_BLOCK];
    size_t pad = tar_padding(size);
    return pad ? zout_write(z, zeros, pad) : 0;
}

/* Copies size bytes of fd into the archive as one entry; hex gets their BLAKE2b-256. */
static int tar_entry_fd(zout_t *z, const char *name, int fd, uint64_t size, char hex[BLOB_HEX])
{
    if (tar_entry_begin(z, name, size) != 0)
        return -1;
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, NULL, 0, 32);
    unsigned char chunk[CHUNK];
    uint64_t done = 0;
    while (done < size) {
        size_t want = size - done < sizeof chunk ? (size_t)(size - done) : sizeof chunk;
        ssize_t n = read(fd, chunk, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* shorter than its size: the archive would be wrong */
        crypto_generichash_update(&hs, chunk, (size_t)n);
        if (zout_write(z, chunk, (size_t)n) != 0)
            return -1;
        done += (uint64_t)n;
    }
    unsigned char digest[32];
    crypto_generichash_final(&hs, digest, sizeof digest);
    hex_encode(digest, sizeof digest, hex);
    return tar_entry_end(z, size);
}

typedef struct {
    store_t *st;
    index_t *snap;
    zout_t *z;
    FILE *manifest;
    backup_stats_t *stats;
    err_t *err;
    bool failed;               /* a blob could not be copied: err says why */
    char (*missing)[BLOB_HEX]; /* blobs only pending exports name, gone since the snapshot */
    size_t nmissing;
} bwrite_t;

static int backup_blob_copy(bwrite_t *b, const char *name);

static int backup_blob(void *ctx, const char *name)
{
    bwrite_t *b = ctx;
    int rc = backup_blob_copy(b, name);
    if (rc)
        b->failed = true;
    return rc;
}

static int backup_blob_copy(bwrite_t *b, const char *name)
{
    int fd = blob_open_fd(b->st->bs, name);
    if (fd < 0) {
        int64_t scope;
        char ref[REF_HEX];
        if (index_blob_object_row(b->snap, name, &scope, ref) != 1)
            return err_set(b->err, ERR_INTERNAL,
                           "blob %s of object %s is missing from the store: run scoped fsck",
                           name, ref), 1;
        void *p = realloc(b->missing, (b->nmissing + 1) * sizeof *b->missing);
        if (!p)
            return err_set(b->err, ERR_INTERNAL, "out of memory"), 1;
        b->missing = p;
        memcpy(b->missing[b->nmissing++], name, BLOB_HEX);
        return 0;
    }
    struct stat st;
    char path[80], hex[BLOB_HEX];
    snprintf(path, sizeof path, "blobs/%.2s/%s", name, name + 2);
    int rc = fstat(fd, &st) == 0 ? tar_entry_fd(b->z, path, fd, (uint64_t)st.st_size, hex) : -1;
    close(fd);
    if (rc != 0)
        return err_set(b->err, ERR_INTERNAL, "cannot write blob %s to the backup: %s", name,
                       strerror(b->z->failed_errno ? b->z->failed_errno : errno)), 1;
    if (strcmp(hex, name) != 0)
        return err_set(b->err, ERR_INTERNAL,
                       "blob %s is damaged (its content does not match its name): run scoped fsck",
                       name), 1;
    b->stats->blobs++;
    b->stats->bytes += (uint64_t)st.st_size;
    fprintf(b->manifest, "%s %llu %s\n", name, (unsigned long long)st.st_size, path);
    return 0;
}

static void unlink_db(const char *path)
{
    char p[4300];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-journal", path);
    unlink(p);
}

static int fsync_parent(const char *path)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Snapshot, blobs, index, manifest: everything after the snapshot reads files that never
 * change (blobs are immutable, the snapshot is ours). */
static int write_archive(bwrite_t *b, const char *snap_path)
{
    err_t *err = b->err;
    static const char marker[] = BACKUP_FORMAT "\n";
    if (tar_entry_begin(b->z, "scoped-backup", sizeof marker - 1) != 0 ||
        zout_write(b->z, marker, sizeof marker - 1) != 0 ||
        tar_entry_end(b->z, sizeof marker - 1) != 0)
        return err_set(err, ERR_INTERNAL, "cannot write the backup");
    /* a callback that stops the walk says why in err: the walk itself returns 0 then */
    if (index_blob_each_referenced(b->snap, backup_blob, b) != 0 || b->failed)
        return b->failed ? -1 : err_set(err, ERR_INTERNAL, "cannot read the snapshot");
    for (size_t i = 0; i < b->nmissing; i++) {
        int64_t n = 0;
        if (index_pending_drop_by_blob(b->snap, b->missing[i], &n) != 0)
            return err_set(err, ERR_INTERNAL, "cannot update the snapshot");
        b->stats->pending_dropped += n;
    }
    b->stats->schema = index_schema_version(b->snap);
    index_close(b->snap); /* the last connection folds its WAL into the file */
    b->snap = NULL;
    int fd = open(snap_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char hex[BLOB_HEX];
    if (fd < 0 || fstat(fd, &st) != 0 ||
        tar_entry_fd(b->z, "index.db", fd, (uint64_t)st.st_size, hex) != 0) {
        if (fd >= 0)
            close(fd);
        return err_set(err, ERR_INTERNAL, "cannot write the index to the backup");
    }
    close(fd);
    b->stats->bytes += (uint64_t)st.st_size;
    /* the manifest so far lists blobs; index.db, the header lines, then blobs again */
    char head[512];
    int hl = snprintf(head, sizeof head, "%s\ncreated %lld\nschema %d\n%s %llu index.db\n",
                      BACKUP_FORMAT, (long long)time(NULL), b->stats->schema, hex,
                      (unsigned long long)st.st_size);
    fflush(b->manifest);
    long blobs_len = ftell(b->manifest);
    if (blobs_len < 0 || fseek(b->manifest, 0, SEEK_SET) != 0)
        return err_set(err, ERR_INTERNAL, "cannot read the manifest back");
    uint64_t total = (uint64_t)hl + (uint64_t)blobs_len;
    if (tar_entry_begin(b->z, "MANIFEST", total) != 0 || zout_write(b->z, head, (size_t)hl) != 0)
        return err_set(err, ERR_INTERNAL, "cannot write the manifest");
    char chunk[CHUNK];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, b->manifest)) > 0)
        if (zout_write(b->z, chunk, n) != 0)
            return err_set(err, ERR_INTERNAL, "cannot write the manifest");
    static const unsigned char end[TAR_END_SIZE];
    if (tar_entry_end(b->z, total) != 0 || zout_write(b->z, end, sizeof end) != 0 ||
        zout_push(b->z, NULL, 0, ZSTD_e_end) != 0)
        return err_set(err, ERR_INTERNAL, "cannot finish the backup");
    return 0;
}

int backup_write(store_t *st, const char *file, backup_stats_t *stats, err_t *err)
{
    *stats = (backup_stats_t){0};
    char tmp[4200], snap[4200];
    unsigned char rnd[6];
    char tag[13];
    randombytes_buf(rnd, sizeof rnd);
    hex_encode(rnd, sizeof rnd, tag);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%s", file, tag) >= sizeof tmp ||
        (size_t)snprintf(snap, sizeof snap, "%s.index-%s", file, tag) >= sizeof snap)
        return err_set(err, ERR_INTERNAL, "backup file name too long");
    zout_t *z = calloc(1, sizeof *z);
    bwrite_t b = {.st = st, .z = z, .stats = stats, .err = err};
    int rc = -1;
    if (!z || !(z->cctx = ZSTD_createCCtx())) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
    z->fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (z->fd < 0) {
        err_set(err, ERR_INTERNAL, "cannot create %s: %s", tmp, strerror(errno));
        goto done;
    }
    b.manifest = tmpfile();
    if (!b.manifest) {
        err_set(err, ERR_INTERNAL, "cannot create a temp file: %s", strerror(errno));
        goto done;
    }
    if (index_backup(st->ix, snap, err) != 0)
        goto done;
    b.snap = index_open(snap, err);
    if (!b.snap)
        goto done;
    if (write_archive(&b, snap) != 0)
        goto done;
    if (fsync(z->fd) != 0 || close(z->fd) != 0) {
        z->fd = -1;
        err_set(err, ERR_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    z->fd = -1;
    if (rename(tmp, file) != 0) {
        err_set(err, ERR_INTERNAL, "cannot rename %s to %s: %s", tmp, file, strerror(errno));
        goto done;
    }
    fsync_parent(file);
    stats->archive_bytes = z->written;
    rc = 0;
done:
    index_close(b.snap);
    if (b.manifest)
        fclose(b.manifest);
    free(b.missing);
    unlink_db(snap);
    if (z) {
        if (z->fd > 0)
            close(z->fd);
        ZSTD_freeCCtx(z->cctx);
    }
    free(z);
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/* ---- restoring */

enum { E_NONE, E_MARKER, E_BLOB, E_INDEX, E_MANIFEST };

typedef struct {
    const char *data_dir;
    const limits_t *lim;
    blobstore_t *bs;
    blob_batch_t batch;
    err_t *err;
    backup_stats_t *stats;
    int kind;          /* of the entry being read */
    bool seen_marker, seen_index, seen_manifest;
    /* blob entry */
    blob_writer_t *w;
    char want[BLOB_HEX];
    /* index entry */
    int index_fd;
    char index_tmp[4200];
    crypto_generichash_state hs;
    char index_hex[BLOB_HEX];
    uint64_t index_size, got;
    /* marker and manifest lines */
    char line[512];
    size_t linelen;
    uint64_t lineno;
    char last_blob[BLOB_HEX];
    uint64_t manifest_blobs;
    bool manifest_index;
} restore_t;

static int fail(restore_t *r, const char *fmt, const char *arg)
{
    err_set(r->err, ERR_BAD_REQUEST, fmt, arg);
    return 1;
}

static int manifest_line(restore_t *r)
{
    r->lineno++;
    const char *l = r->line;
    if (r->lineno == 1)
        return strcmp(l, BACKUP_FORMAT) == 0 ? 0 : fail(r, "manifest: not a %s", BACKUP_FORMAT);
    if (!strncmp(l, "created ", 8))
        return 0;
    if (!strncmp(l, "schema ", 7)) {
        r->stats->schema = atoi(l + 7);
        return 0;
    }
    char hex[BLOB_HEX], path[100];
    unsigned long long size;
    if (sscanf(l, "%64s %llu %99s", hex, &size, path) != 3 || !blob_name_valid(hex))
        return fail(r, "manifest: malformed line \"%s\"", l);
    if (!strcmp(path, "index.db")) {
        if (!r->seen_index || strcmp(hex, r->index_hex) != 0 || size != r->index_size)
            return fail(r, "%s", "index.db does not match the manifest's checksum");
        r->manifest_index = true;
        return 0;
    }
    char want[80];
    snprintf(want, sizeof want, "blobs/%.2s/%s", hex, hex + 2);
    if (strcmp(path, want) != 0 || strcmp(hex, r->last_blob) <= 0)
        return fail(r, "manifest: blob line out of order or misnamed: \"%s\"", l);
    memcpy(r->last_blob, hex, BLOB_HEX);
    uint64_t have;
    if (blob_size(r->bs, hex, &have) != 0)
        return fail(r, "blob %s is in the manifest but not in the archive", hex);
    if (have != size)
        return fail(r, "blob %s has another size than the manifest says", hex);
    r->manifest_blobs++;
    return 0;
}

static int text_data(restore_t *r, const unsigned char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n') {
            if (r->linelen + 1 >= sizeof r->line)
                return fail(r, "%s", "a line of the manifest is too long");
            r->line[r->linelen++] = (char)data[i];
            continue;
        }
        r->line[r->linelen] = 0;
        r->linelen = 0;
        if (r->kind == E_MARKER) {
            if (strcmp(r->line, BACKUP_FORMAT) != 0)
                return fail(r, "not a scoped backup of a format this scoped reads (%s)", r->line);
            r->seen_marker = true;
        } else if (manifest_line(r) != 0) {
            return 1;
        }
    }
    return 0;
}

static int restore_begin(void *ctx, const char *name, uint64_t size)
{
    restore_t *r = ctx;
    if (!r->seen_marker && strcmp(name, "scoped-backup") != 0)
        return fail(r, "%s", "not a scoped backup (it does not begin with its marker)");
    if (r->seen_manifest)
        return fail(r, "entry %s after the manifest", name);
    r->linelen = 0;
    if (!strcmp(name, "scoped-backup")) {
        if (r->seen_marker || size > 64)
            return fail(r, "%s", "a second or oversized marker");
        r->kind = E_MARKER;
    } else if (!strcmp(name, "MANIFEST")) {
        r->kind = E_MANIFEST;
    } else if (!strcmp(name, "index.db")) {
        if (r->seen_index)
            return fail(r, "%s", "two index.db entries");
        r->kind = E_INDEX;
        r->index_fd = open(r->index_tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (r->index_fd < 0)
            return err_set(r->err, ERR_INTERNAL, "cannot create %s: %s", r->index_tmp,
                           strerror(errno)), 1;
        crypto_generichash_init(&r->hs, NULL, 0, 32);
        r->index_size = size;
        r->got = 0;
    } else if (!strncmp(name, "blobs/", 6) && strlen(name) == 6 + 2 + 1 + 62 && name[8] == '/') {
        snprintf(r->want, sizeof r->want, "%.2s%s", name + 6, name + 9);
        if (!blob_name_valid(r->want))
            return fail(r, "unexpected entry %s", name);
        if (size > r->lim->max_object_inflated + 1024 * 1024)
            return fail(r, "blob entry %s is larger than any object scoped stores", name);
        r->kind = E_BLOB;
        r->w = blob_writer_new(&r->batch);
        if (!r->w)
            return err_set(r->err, ERR_INTERNAL, "cannot write to the blob store"), 1;
    } else {
        return fail(r, "unexpected entry %s", name);
    }
    return 0;
}

static int restore_data(void *ctx, const unsigned char *data, size_t len)
{
    restore_t *r = ctx;
    switch (r->kind) {
    case E_BLOB:
        return blob_writer_write(r->w, data, len) == 0
                   ? 0
                   : (err_set(r->err, ERR_INTERNAL, "cannot write blob %s", r->want), 1);
    case E_INDEX:
        crypto_generichash_update(&r->hs, data, len);
        r->got += len;
        return write_all(r->index_fd, data, len) == 0
                   ? 0
                   : (err_set(r->err, ERR_INTERNAL, "cannot write the index: %s", strerror(errno)), 1);
    default:
        return text_data(r, data, len);
    }
}

static int restore_end(void *ctx)
{
    restore_t *r = ctx;
    int kind = r->kind;
    r->kind = E_NONE;
    if (kind == E_BLOB) {
        char got[BLOB_HEX];
        uint64_t size;
        int rc = blob_writer_commit(r->w, got, &size);
        r->w = NULL;
        if (rc != 0)
            return err_set(r->err, ERR_INTERNAL, "cannot store blob %s", r->want), 1;
        if (strcmp(got, r->want) != 0)
            return fail(r, "blob %s of the archive does not match its checksum", r->want);
        r->stats->blobs++;
        r->stats->bytes += size;
    } else if (kind == E_INDEX) {
        unsigned char digest[32];
        crypto_generichash_final(&r->hs, digest, sizeof digest);
        hex_encode(digest, sizeof digest, r->index_hex);
        int rc = fsync(r->index_fd);
        if (close(r->index_fd) != 0)
            rc = -1;
        r->index_fd = -1;
        if (rc != 0)
            return err_set(r->err, ERR_INTERNAL, "cannot write the index: %s", strerror(errno)), 1;
        r->seen_index = true;
        r->stats->bytes += r->got;
    } else if (kind == E_MANIFEST) {
        if (r->linelen)
            return fail(r, "%s", "the manifest does not end with a newline");
        r->seen_manifest = true;
    } else if (kind == E_MARKER && !r->seen_marker) {
        return fail(r, "%s", "not a scoped backup (empty marker)");
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Empty, or absent (then created): a restore never mixes with data already there. */
static int data_dir_empty(const char *dir, bool *created, err_t *err)
{
    *created = false;
    if (mkdir(dir, 0750) == 0) {
        *created = true;
        return 0;
    }
    if (errno != EEXIST)
        return err_set(err, ERR_INTERNAL, "cannot create %s: %s", dir, strerror(errno));
    DIR *d = opendir(dir);
    if (!d)
        return err_set(err, ERR_INTERNAL, "cannot read %s: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            rc = err_set(err, ERR_BAD_REQUEST,
                         "data directory %s is not empty: restore only into an empty one", dir);
            break;
        }
    closedir(d);
    return rc;
}

static int restore_stream(restore_t *r, int fd, tar_reader_t *tar)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    size_t outcap = ZSTD_DStreamOutSize();
    unsigned char *in = malloc(CHUNK), *out = malloc(outcap);
    int rc = dctx && in && out ? 0 : err_set(r->err, ERR_INTERNAL, "out of memory");
    size_t last = 0;
    bool any = false;
    while (rc == 0) {
        ssize_t n = read(fd, in, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(r->err, ERR_INTERNAL, "cannot read the backup: %s", strerror(errno));
            break;
        }
        if (n == 0)
            break;
        any = true;
        r->stats->archive_bytes += (uint64_t)n;
        ZSTD_inBuffer ib = {in, (size_t)n, 0};
        while (rc == 0 && ib.pos < ib.size) {
            ZSTD_outBuffer ob = {out, outcap, 0};
            last = ZSTD_decompressStream(dctx, &ob, &ib);
            if (ZSTD_isError(last)) {
                rc = err_set(r->err, ERR_BAD_REQUEST, "the backup is not valid zstd data (%s)",
                             ZSTD_getErrorName(last));
                break;
            }
            int trc = ob.pos ? tar_reader_feed(tar, out, ob.pos) : TAR_OK;
            if (trc != TAR_OK)
                rc = r->err->kind != ERR_NONE
                         ? -1
                         : err_set(r->err, ERR_BAD_REQUEST, "the backup's archive is damaged: %s",
                                   tar_reader_error(tar));
        }
    }
    if (rc == 0 && (!any || last != 0))
        rc = err_set(r->err, ERR_BAD_REQUEST, "the backup is truncated");
    if (rc == 0 && tar_reader_finish(tar) != TAR_OK)
        rc = err_set(r->err, ERR_BAD_REQUEST, "the backup's archive is truncated: %s",
                     tar_reader_error(tar));
    ZSTD_freeDCtx(dctx);
    free(in);
    free(out);
    return rc;
}

int backup_restore(const char *file, const char *data_dir, const limits_t *lim,
                   backup_stats_t *stats, err_t *err)
{
    *stats = (backup_stats_t){0};
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, ERR_INTERNAL, "cannot open %s: %s", file, strerror(errno));
    bool created;
    if (data_dir_empty(data_dir, &created, err) != 0) {
        close(fd);
        return -1;
    }
    restore_t r = {.data_dir = data_dir, .lim = lim, .err = err, .stats = stats, .index_fd = -1};
    char blobs[4200], index_path[4200];
    snprintf(blobs, sizeof blobs, "%s/blobs", data_dir);
    snprintf(index_path, sizeof index_path, "%s/index.db", data_dir);
    snprintf(r.index_tmp, sizeof r.index_tmp, "%s/index.db.restoring", data_dir);
    int rc = -1;
    tar_reader_t *tar = NULL;
    r.bs = blob_open(blobs);
    if (!r.bs) {
        err_set(err, ERR_INTERNAL, "cannot create the blob store in %s", blobs);
        goto done;
    }
    blob_batch_init(&r.batch, r.bs, NULL); /* restored blobs are files */
    static const tar_callbacks_t cb = {restore_begin, restore_data, restore_end};
    /* the index may be large; blob entries are bounded in restore_begin */
    tar_limits_t tl = {.max_entry_size = (uint64_t)1 << 50, .max_pax_size = 64 * 1024,
                       .max_name_len = 255};
    tar = tar_reader_new(&cb, &r, &tl);
    if (!tar) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (restore_stream(&r, fd, tar) != 0)
        goto done;
    if (!r.seen_manifest || !r.manifest_index || !r.seen_index) {
        err_set(err, ERR_BAD_REQUEST, "the backup has no %s",
                !r.seen_index ? "index" : "complete manifest");
        goto done;
    }
    if (r.manifest_blobs != stats->blobs) {
        err_set(err, ERR_BAD_REQUEST, "the backup holds %llu blobs, its manifest lists %llu",
                (unsigned long long)stats->blobs, (unsigned long long)r.manifest_blobs);
        goto done;
    }
    if (blob_batch_sync(&r.batch) != 0 || rename(r.index_tmp, index_path) != 0 ||
        fsync_parent(index_path) != 0) {
        err_set(err, ERR_INTERNAL, "cannot make the restore durable: %s", strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (r.w)
        blob_writer_abort(r.w);
    if (r.index_fd >= 0)
        close(r.index_fd);
    tar_reader_free(tar);
    blob_close(r.bs);
    close(fd);
    if (rc != 0) {
        /* back to the empty directory it was */
        nftw(blobs, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        unlink(r.index_tmp);
        unlink(index_path);
        if (created)
            rmdir(data_dir);
    }
    return rc;
}
