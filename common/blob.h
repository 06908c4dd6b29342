/* Content-addressed blob store: immutable blobs named by the BLAKE2b-256 of their bytes.
 * A blob up to the inline limit (inline_blob_max) written through a batch that has an index
 * becomes a row of the index's blob_data table; any other is a file under
 * <root>/<2 hex>/<62 hex>, written to a temp file, made durable, renamed into place.
 * Readers ask the index first for small blobs and the files first for large ones; either may
 * hold a blob (a limit changed since), and both hold the same bytes.
 * A later backend (S3-compatible, say) replaces this file behind the same functions. */
#ifndef SCOPED_BLOB_H
#define SCOPED_BLOB_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"
#include "index.h"

typedef struct blobstore blobstore_t;

blobstore_t *blob_open(const char *root);
void blob_close(blobstore_t *bs);
/* Blobs up to this size go to the index (0: every blob is a file). Default 64 KiB. */
void blob_set_inline_max(blobstore_t *bs, uint64_t max);
uint64_t blob_inline_max(const blobstore_t *bs);

typedef struct {
    char name[BLOB_HEX];
    int64_t row_id; /* its row's key, for inserting in key order */
    uint64_t off;
    size_t len;
} blob_inline_t;

/* A batch groups writes so that many small blobs are made durable by one barrier
 * (blob_batch_sync) instead of an fsync each. Nothing written in a batch may be referenced
 * by the index before blob_batch_sync returned 0. Small blobs wait in the batch (in memory,
 * past 4 MiB in an unnamed temp file) until blob_batch_sync writes them to the index: inside
 * the caller's transaction when one is open (then they commit with the rows that name them),
 * else in one transaction of their own. */
typedef struct {
    blobstore_t *bs;
    index_t *ix;             /* where small blobs go; NULL: every blob is a file */
    unsigned char dirty[32]; /* fan-out directories that got a new name (bitmap of 256) */
    bool unsynced;           /* files written without their own fsync */
    buf_t spool;             /* small blobs' bytes until blob_batch_sync */
    int spool_fd;            /* -1, or the temp file the spool moved to */
    uint64_t spool_len;
    blob_inline_t *inl;
    size_t n_inl, cap_inl;
} blob_batch_t;

void blob_batch_init(blob_batch_t *b, blobstore_t *bs, index_t *ix);
/* Makes the batch's files durable (syncfs); small blobs stay waiting. */
int blob_batch_sync_files(blob_batch_t *b);
/* Files, then small blobs into the index. */
int blob_batch_sync(blob_batch_t *b);
/* Drops what was never synced. */
void blob_batch_free(blob_batch_t *b);

typedef struct blob_writer blob_writer_t;
blob_writer_t *blob_writer_new(blob_batch_t *batch);
int blob_writer_write(blob_writer_t *w, const void *data, size_t len);
/* Names the blob, moves it into place (or drops it if the same bytes are stored already).
 * Frees the writer in every case. */
int blob_writer_commit(blob_writer_t *w, char name[BLOB_HEX], uint64_t *size);
void blob_writer_abort(blob_writer_t *w);

int blob_put(blob_batch_t *batch, const void *data, size_t len, char name[BLOB_HEX]);

bool blob_name_valid(const char *name);
/* Opens a stored blob file read-only; -1 if absent (inline blobs have no file). */
int blob_open_fd(blobstore_t *bs, const char *name);
/* Reads a blob, from the index (when ix is given) or its file. */
int blob_read(blobstore_t *bs, index_t *ix, const char *name, uint64_t max, buf_t *out);
/* The blob file exists (inline blobs: index_blob_data_get). */
bool blob_exists(blobstore_t *bs, const char *name);
int blob_unlink(blobstore_t *bs, const char *name);
/* Recomputes the name of a stored blob; true if it matches. */
bool blob_verify(blobstore_t *bs, const char *name);
/* Calls fn for every stored blob name with its mtime; stops early when fn returns nonzero. */
int blob_each(blobstore_t *bs, int (*fn)(void *ctx, const char *name, int64_t mtime), void *ctx);
/* Free bytes on the blob filesystem. */
uint64_t blob_free_space(blobstore_t *bs);
/* Usable: the root is still at its path, readable, and a temp file can be created. */
bool blob_healthy(blobstore_t *bs);
int blob_size(blobstore_t *bs, const char *name, uint64_t *size);

/* For gc: removes the blob unless its mtime is stale_before or later (written or re-used
 * since), safely against a writer re-using it at the same moment. 0 removed, 1 kept or
 * already gone, -1 error. */
int blob_remove_if_stale(blobstore_t *bs, const char *name, int64_t stale_before);
/* Removes temp files (of uploads that died, of gc) last changed before stale_before. */
int blob_tmp_clean(blobstore_t *bs, int64_t stale_before, uint64_t *removed);
/* For fsck --repair: moves the blob into dir (created if needed), out of the store. */
int blob_quarantine(blobstore_t *bs, const char *name, const char *dir);
const char *blob_root(blobstore_t *bs);

#endif
