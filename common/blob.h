/* Content-addressed blob store: immutable files named by the BLAKE2b-256 of their bytes,
 * under <root>/<2 hex>/<62 hex>. Written to a temp file, made durable, renamed into place.
 * A later backend (S3-compatible, say) replaces this file behind the same functions. */
#ifndef SCOPED_BLOB_H
#define SCOPED_BLOB_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"

typedef struct blobstore blobstore_t;

blobstore_t *blob_open(const char *root);
void blob_close(blobstore_t *bs);

/* A batch groups writes so that many small blobs are made durable by one barrier
 * (blob_batch_sync) instead of an fsync each. Nothing written in a batch may be referenced
 * by the index before blob_batch_sync returned 0. */
typedef struct {
    blobstore_t *bs;
    unsigned char dirty[32]; /* fan-out directories that got a new name (bitmap of 256) */
    bool unsynced;           /* files written without their own fsync */
} blob_batch_t;

void blob_batch_init(blob_batch_t *b, blobstore_t *bs);
int blob_batch_sync(blob_batch_t *b);

typedef struct blob_writer blob_writer_t;
blob_writer_t *blob_writer_new(blob_batch_t *batch);
int blob_writer_write(blob_writer_t *w, const void *data, size_t len);
/* Names the blob, moves it into place (or drops it if the same bytes are stored already).
 * Frees the writer in every case. */
int blob_writer_commit(blob_writer_t *w, char name[BLOB_HEX], uint64_t *size);
void blob_writer_abort(blob_writer_t *w);

int blob_put(blob_batch_t *batch, const void *data, size_t len, char name[BLOB_HEX]);

bool blob_name_valid(const char *name);
/* Opens a stored blob read-only; -1 if absent. */
int blob_open_fd(blobstore_t *bs, const char *name);
int blob_read(blobstore_t *bs, const char *name, uint64_t max, buf_t *out);
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
