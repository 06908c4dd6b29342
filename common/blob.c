#include "blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SPOOL_MEM (4 * 1024 * 1024) /* a batch's small blobs kept in memory, at most */

struct blobstore {
    char root[4096];
    int rootfd;
    int dirfd[256]; /* fan-out directories, opened once */
    uint64_t inline_max;
};

struct blob_writer {
    blob_batch_t *batch;
    int fd;    /* -1 while the bytes are few enough to be an inline blob */
    buf_t mem; /* those bytes */
    char tmp[64];
    crypto_generichash_state st;
    uint64_t size;
};

void blob_set_inline_max(blobstore_t *bs, uint64_t max)
{
    bs->inline_max = max;
}

uint64_t blob_inline_max(const blobstore_t *bs)
{
    return bs->inline_max;
}

const char *blob_root(blobstore_t *bs)
{
    return bs->root;
}

blobstore_t *blob_open(const char *root)
{
    if (sodium_init() < 0)
        return NULL;
    blobstore_t *bs = calloc(1, sizeof *bs);
    if (!bs)
        return NULL;
    snprintf(bs->root, sizeof bs->root, "%s", root);
    bs->inline_max = 64 * 1024;
    for (int i = 0; i < 256; i++)
        bs->dirfd[i] = -1;
    if (mkdir(root, 0750) != 0 && errno != EEXIST)
        goto fail;
    bs->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bs->rootfd < 0)
        goto fail;
    if (mkdirat(bs->rootfd, "tmp", 0750) != 0 && errno != EEXIST)
        goto fail;
    for (int i = 0; i < 256; i++) {
        char d[3];
        snprintf(d, sizeof d, "%02x", i);
        if (mkdirat(bs->rootfd, d, 0750) != 0 && errno != EEXIST)
            goto fail;
        bs->dirfd[i] = openat(bs->rootfd, d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bs->dirfd[i] < 0)
            goto fail;
    }
    return bs;
fail:
    log_error("msg=\"blob store unusable\" root=%s error=\"%s\"", root, strerror(errno));
    blob_close(bs);
    return NULL;
}

void blob_close(blobstore_t *bs)
{
    if (!bs)
        return;
    for (int i = 0; i < 256; i++)
        if (bs->dirfd[i] >= 0)
            close(bs->dirfd[i]);
    if (bs->rootfd > 0)
        close(bs->rootfd);
    free(bs);
}

void blob_batch_init(blob_batch_t *b, blobstore_t *bs, index_t *ix)
{
    memset(b, 0, sizeof *b);
    b->bs = bs;
    b->ix = bs->inline_max ? ix : NULL;
    b->spool_fd = -1;
}

static void spool_reset(blob_batch_t *b)
{
    if (b->spool_fd >= 0)
        close(b->spool_fd);
    b->spool_fd = -1;
    b->spool_len = 0;
    buf_reset(&b->spool);
    b->n_inl = 0;
}

void blob_batch_free(blob_batch_t *b)
{
    spool_reset(b);
    buf_free(&b->spool);
    free(b->inl);
    b->inl = NULL;
    b->cap_inl = 0;
}

static int write_all(int fd, const void *data, size_t len, off_t off)
{
    const unsigned char *p = data;
    while (len) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int read_all(int fd, void *data, size_t len, off_t off)
{
    unsigned char *p = data;
    while (len) {
        ssize_t n = pread(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* A small blob joins the batch's spool; past SPOOL_MEM the spool moves to an unnamed file. */
static int spool_add(blob_batch_t *b, const char name[BLOB_HEX], const void *data, size_t len)
{
    if (b->n_inl == b->cap_inl) {
        size_t cap = b->cap_inl ? b->cap_inl * 2 : 64;
        blob_inline_t *p = realloc(b->inl, cap * sizeof *p);
        if (!p)
            return -1;
        b->inl = p;
        b->cap_inl = cap;
    }
    if (b->spool_fd < 0 && b->spool_len + len > SPOOL_MEM) {
        b->spool_fd = openat(b->bs->rootfd, "tmp", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
        if (b->spool_fd < 0 || write_all(b->spool_fd, b->spool.data, b->spool.len, 0) != 0) {
            log_error("msg=\"cannot spool small blobs\" error=\"%s\"", strerror(errno));
            return -1;
        }
        buf_free(&b->spool);
    }
    if (b->spool_fd >= 0 ? write_all(b->spool_fd, data, len, (off_t)b->spool_len) != 0
                         : !buf_append(&b->spool, data, len))
        return -1;
    blob_inline_t *e = &b->inl[b->n_inl++];
    memcpy(e->name, name, BLOB_HEX);
    if (index_blob_row_id(name, &e->row_id) != 0)
        e->row_id = 0; /* not inserted anyway: index_blob_data_put refuses the name */
    e->off = b->spool_len;
    e->len = len;
    b->spool_len += len;
    return 0;
}

static int by_row_id(const void *a, const void *b)
{
    int64_t x = ((const blob_inline_t *)a)->row_id, y = ((const blob_inline_t *)b)->row_id;
    return x < y ? -1 : x > y;
}

/* Writes the spooled small blobs into the index, in the caller's transaction if one is open.
 * In row id order: b-tree inserts in key order touch each page once. */
static int spool_flush(blob_batch_t *b)
{
    if (!b->n_inl)
        return 0;
    qsort(b->inl, b->n_inl, sizeof *b->inl, by_row_id);
    bool own = !index_in_transaction(b->ix);
    if (own) {
        if (index_begin(b->ix) != 0)
            return -1;
        index_quiet(b->ix); /* rows nothing names yet change no reply */
    }
    int64_t now = (int64_t)time(NULL);
    buf_t tmp;
    buf_init(&tmp);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->n_inl; i++) {
        blob_inline_t *e = &b->inl[i];
        const void *data = b->spool.data + e->off;
        if (b->spool_fd >= 0) {
            buf_reset(&tmp);
            rc = buf_reserve(&tmp, e->len) ? read_all(b->spool_fd, tmp.data, e->len, (off_t)e->off)
                                            : -1;
            data = tmp.data;
        }
        if (rc == 0)
            rc = index_blob_data_put(b->ix, e->name, data, e->len, now);
        if (rc == 1) {
            /* another blob holds its row id (1 in 2^64): this one is a file, synced here */
            blob_batch_t files;
            blob_batch_init(&files, b->bs, NULL);
            char again[BLOB_HEX];
            rc = blob_put(&files, data, e->len, again) == 0 && blob_batch_sync(&files) == 0 ? 0 : -1;
            log_warn("msg=\"inline blob id taken: stored as a file\" blob=%s", e->name);
        }
    }
    buf_free(&tmp);
    if (own && (rc != 0 || index_commit(b->ix) != 0)) {
        index_rollback(b->ix);
        rc = -1;
    }
    if (rc == 0)
        spool_reset(b);
    return rc;
}

int blob_batch_sync(blob_batch_t *b)
{
    if (blob_batch_sync_files(b) != 0)
        return -1;
    return spool_flush(b);
}

int blob_batch_sync_files(blob_batch_t *b)
{
    /* syncfs writes out every file and every directory change of the file system (sync(2):
     * "all pending modifications to filesystem metadata and cached file data"), so the renames
     * of the batch are durable with it, in one call however many blobs there are. A batch that
     * only renamed (nothing unsynced) fsyncs the directories it touched. */
    if (b->unsynced) {
        if (syncfs(b->bs->rootfd) != 0)
            return -1;
        b->unsynced = false;
        memset(b->dirty, 0, sizeof b->dirty);
        return 0;
    }
    for (int i = 0; i < 256; i++) {
        if (!(b->dirty[i / 8] & (1u << (i % 8))))
            continue;
        if (fsync(b->bs->dirfd[i]) != 0)
            return -1;
    }
    memset(b->dirty, 0, sizeof b->dirty);
    return 0;
}

bool blob_name_valid(const char *name)
{
    return name && strlen(name) == 64 && is_hex(name, 64);
}

static int fanout(const char *name)
{
    unsigned char b;
    hex_decode(name, 2, &b);
    return b;
}

static int writer_open_file(blob_writer_t *w)
{
    blob_batch_t *batch = w->batch;
    /* unique without a syscall: a random prefix per thread, then a counter */
    static _Thread_local unsigned char prefix[8];
    static _Thread_local uint64_t counter;
    if (!counter++)
        randombytes_buf(prefix, sizeof prefix);
    char hex[17];
    hex_encode(prefix, sizeof prefix, hex);
    snprintf(w->tmp, sizeof w->tmp, "tmp/%s-%llx", hex, (unsigned long long)counter);
    w->fd = openat(batch->bs->rootfd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (w->fd < 0) {
        log_error("msg=\"cannot create blob temp file\" error=\"%s\"", strerror(errno));
        return -1;
    }
    return 0;
}

blob_writer_t *blob_writer_new(blob_batch_t *batch)
{
    blob_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->batch = batch;
    w->fd = -1;
    if (!batch->ix && writer_open_file(w) != 0) {
        free(w);
        return NULL;
    }
    crypto_generichash_init(&w->st, NULL, 0, 32);
    return w;
}

int blob_writer_write(blob_writer_t *w, const void *data, size_t len)
{
    crypto_generichash_update(&w->st, data, len);
    w->size += len;
    if (w->fd < 0) {
        if (w->size <= w->batch->bs->inline_max)
            return buf_append(&w->mem, data, len) ? 0 : -1;
        /* too large to be inline after all: a file, with what came so far */
        if (writer_open_file(w) != 0 || write_all(w->fd, w->mem.data, w->mem.len, 0) != 0)
            return -1;
        buf_free(&w->mem);
    }
    return write_all(w->fd, data, len, (off_t)(w->size - len));
}

void blob_writer_abort(blob_writer_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        unlinkat(w->batch->bs->rootfd, w->tmp, 0);
    }
    buf_free(&w->mem);
    free(w);
}

int blob_writer_commit(blob_writer_t *w, char name[BLOB_HEX], uint64_t *size)
{
    unsigned char digest[32];
    crypto_generichash_final(&w->st, digest, sizeof digest);
    hex_encode(digest, sizeof digest, name);
    if (size)
        *size = w->size;
    if (w->fd < 0) {
        int rc = spool_add(w->batch, name, w->mem.data ? w->mem.data : (unsigned char *)"", w->mem.len);
        buf_free(&w->mem);
        free(w);
        return rc;
    }
    blobstore_t *bs = w->batch->bs;
    int d = fanout(name);
    int rc = 0;
    if (close(w->fd) != 0)
        rc = -1;
    w->fd = -1;
    /* never over a stored blob (EINVAL: a file system without RENAME_NOREPLACE: look first) */
    bool moved = rc == 0 &&
                 renameat2(bs->rootfd, w->tmp, bs->dirfd[d], name + 2, RENAME_NOREPLACE) == 0;
    if (rc == 0 && !moved && errno != EEXIST && errno != EINVAL)
        rc = -1;
    if (rc == 0 && !moved && utimensat(bs->dirfd[d], name + 2, NULL, 0) == 0) {
        /* same bytes already stored: nothing to move, but the mtime is refreshed so that gc's
         * grace period protects it until the index references it. If gc took it away
         * meanwhile, utimensat fails and this copy takes its place (blob_remove_if_stale). */
        unlinkat(bs->rootfd, w->tmp, 0);
        free(w);
        return 0;
    }
    if (rc == 0 && !moved && renameat(bs->rootfd, w->tmp, bs->dirfd[d], name + 2) != 0)
        rc = -1;
    if (rc != 0) {
        log_error("msg=\"cannot store blob\" error=\"%s\"", strerror(errno));
        unlinkat(bs->rootfd, w->tmp, 0);
    } else {
        w->batch->unsynced = true;
        w->batch->dirty[d / 8] |= (unsigned char)(1u << (d % 8));
    }
    free(w);
    return rc;
}

int blob_put(blob_batch_t *batch, const void *data, size_t len, char name[BLOB_HEX])
{
    blob_writer_t *w = blob_writer_new(batch);
    if (!w)
        return -1;
    if (blob_writer_write(w, data, len) != 0) {
        blob_writer_abort(w);
        return -1;
    }
    return blob_writer_commit(w, name, NULL);
}

int blob_open_fd(blobstore_t *bs, const char *name)
{
    if (!blob_name_valid(name))
        return -1;
    return openat(bs->dirfd[fanout(name)], name + 2, O_RDONLY | O_CLOEXEC);
}

bool blob_exists(blobstore_t *bs, const char *name)
{
    return blob_name_valid(name) && faccessat(bs->dirfd[fanout(name)], name + 2, F_OK, 0) == 0;
}

int blob_read(blobstore_t *bs, index_t *ix, const char *name, uint64_t max, buf_t *out)
{
    if (ix) {
        int rc = index_blob_data_get(ix, name, max, out);
        if (rc <= 0)
            return rc;
    }
    int fd = blob_open_fd(bs, name);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > max || !buf_reserve(out, (size_t)st.st_size)) {
        close(fd);
        return -1;
    }
    buf_reset(out);
    size_t want = (size_t)st.st_size;
    while (out->len < want) {
        ssize_t n = pread(fd, out->data + out->len, want - out->len, (off_t)out->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        out->len += (size_t)n;
    }
    out->data[out->len] = 0;
    close(fd);
    return 0;
}

int blob_unlink(blobstore_t *bs, const char *name)
{
    if (!blob_name_valid(name))
        return -1;
    return unlinkat(bs->dirfd[fanout(name)], name + 2, 0);
}

bool blob_verify(blobstore_t *bs, const char *name)
{
    int fd = blob_open_fd(bs, name);
    if (fd < 0)
        return false;
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    unsigned char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        crypto_generichash_update(&st, chunk, (size_t)n);
    close(fd);
    if (n < 0)
        return false;
    unsigned char digest[32];
    char hex[BLOB_HEX];
    crypto_generichash_final(&st, digest, sizeof digest);
    hex_encode(digest, sizeof digest, hex);
    return strcmp(hex, name) == 0;
}

int blob_each(blobstore_t *bs, int (*fn)(void *ctx, const char *name, int64_t mtime), void *ctx)
{
    for (int i = 0; i < 256; i++) {
        int fd = dup(bs->dirfd[i]);
        if (fd < 0)
            return -1;
        DIR *dir = fdopendir(fd);
        if (!dir) {
            close(fd);
            return -1;
        }
        rewinddir(dir);
        struct dirent *de;
        int rc = 0;
        while (rc == 0 && (de = readdir(dir)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char name[BLOB_HEX];
            if (strlen(de->d_name) != 62)
                continue;
            snprintf(name, 3, "%02x", i);
            memcpy(name + 2, de->d_name, 63);
            struct stat st;
            int64_t mtime = 0;
            if (fstatat(bs->dirfd[i], de->d_name, &st, 0) == 0)
                mtime = st.st_mtime;
            rc = fn(ctx, name, mtime);
        }
        closedir(dir);
        if (rc)
            return rc;
    }
    return 0;
}

uint64_t blob_free_space(blobstore_t *bs)
{
    struct statvfs sv;
    if (fstatvfs(bs->rootfd, &sv) != 0)
        return 0;
    return (uint64_t)sv.f_bavail * sv.f_frsize;
}

bool blob_healthy(blobstore_t *bs)
{
    /* the directory open since the start must still be the one at the configured path: one
     * removed or moved away keeps working through its descriptor, invisible to backups */
    struct stat st, at_path;
    return fstat(bs->rootfd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink > 0 &&
           stat(bs->root, &at_path) == 0 && at_path.st_ino == st.st_ino &&
           at_path.st_dev == st.st_dev && faccessat(bs->rootfd, ".", R_OK | X_OK, 0) == 0 &&
           faccessat(bs->rootfd, "tmp", W_OK, 0) == 0 && faccessat(bs->dirfd[0], ".", R_OK, 0) == 0;
}

int blob_size(blobstore_t *bs, const char *name, uint64_t *size)
{
    struct stat st;
    if (!blob_name_valid(name) || fstatat(bs->dirfd[fanout(name)], name + 2, &st, 0) != 0)
        return -1;
    *size = (uint64_t)st.st_size;
    return 0;
}

static void aside_name(char out[64], const char *prefix)
{
    unsigned char rnd[12];
    char hex[25];
    randombytes_buf(rnd, sizeof rnd);
    hex_encode(rnd, sizeof rnd, hex);
    snprintf(out, 64, "tmp/%s%s", prefix, hex);
}

int blob_remove_if_stale(blobstore_t *bs, const char *name, int64_t stale_before)
{
    if (!blob_name_valid(name))
        return -1;
    int d = fanout(name);
    char aside[64];
    aside_name(aside, "gc-");
    /* Moved aside first: a writer re-using the blob refreshed its mtime either before the
     * move (seen below: it goes back) or after it (its utimensat fails, and it stores its own
     * copy). Either way no index row is left naming a missing blob. */
    if (renameat(bs->dirfd[d], name + 2, bs->rootfd, aside) != 0)
        return errno == ENOENT ? 1 : -1;
    struct stat st;
    if (fstatat(bs->rootfd, aside, &st, 0) != 0 || st.st_mtime >= stale_before) {
        if (renameat2(bs->rootfd, aside, bs->dirfd[d], name + 2, RENAME_NOREPLACE) != 0) {
            if (errno != EEXIST)
                return -1; /* left in tmp/ for the operator: never lost silently */
            unlinkat(bs->rootfd, aside, 0); /* a writer stored the same bytes meanwhile */
        }
        return 1;
    }
    return unlinkat(bs->rootfd, aside, 0) == 0 ? 0 : -1;
}

int blob_tmp_clean(blobstore_t *bs, int64_t stale_before, uint64_t *removed)
{
    int fd = openat(bs->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        struct stat st;
        if (de->d_name[0] == '.' || fstatat(dirfd(dir), de->d_name, &st, 0) != 0 ||
            !S_ISREG(st.st_mode) || st.st_mtime >= stale_before)
            continue;
        if (unlinkat(dirfd(dir), de->d_name, 0) == 0 && removed)
            (*removed)++;
    }
    closedir(dir);
    return 0;
}

int blob_quarantine(blobstore_t *bs, const char *name, const char *dir)
{
    if (!blob_name_valid(name) || (mkdir(dir, 0750) != 0 && errno != EEXIST))
        return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return renameat(bs->dirfd[fanout(name)], name + 2, AT_FDCWD, path);
}
