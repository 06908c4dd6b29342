#include "blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"

struct blobstore {
    char root[4096];
    int rootfd;
    int dirfd[256]; /* fan-out directories, opened once */
};

struct blob_writer {
    blob_batch_t *batch;
    int fd;
    char tmp[64];
    crypto_generichash_state st;
    uint64_t size;
};

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

void blob_batch_init(blob_batch_t *b, blobstore_t *bs)
{
    memset(b, 0, sizeof *b);
    b->bs = bs;
}

int blob_batch_sync(blob_batch_t *b)
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

blob_writer_t *blob_writer_new(blob_batch_t *batch)
{
    blob_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->batch = batch;
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
        free(w);
        return NULL;
    }
    crypto_generichash_init(&w->st, NULL, 0, 32);
    return w;
}

int blob_writer_write(blob_writer_t *w, const void *data, size_t len)
{
    const unsigned char *p = data;
    crypto_generichash_update(&w->st, p, len);
    w->size += len;
    while (len) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void blob_writer_abort(blob_writer_t *w)
{
    if (!w)
        return;
    close(w->fd);
    unlinkat(w->batch->bs->rootfd, w->tmp, 0);
    free(w);
}

int blob_writer_commit(blob_writer_t *w, char name[BLOB_HEX], uint64_t *size)
{
    unsigned char digest[32];
    crypto_generichash_final(&w->st, digest, sizeof digest);
    hex_encode(digest, sizeof digest, name);
    if (size)
        *size = w->size;
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

int blob_read(blobstore_t *bs, const char *name, uint64_t max, buf_t *out)
{
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
