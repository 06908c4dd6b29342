/* Online backup and restore of a data directory.
 *
 * A backup file is one zstd stream (with zstd's content checksum) of a POSIX ustar archive:
 *
 *   scoped-backup            "scoped-backup 1\n": the format and its version, always first
 *   blobs/<2 hex>/<62 hex>   every blob the index snapshot references, named as in the store
 *                            (the name is the BLAKE2b-256 of the bytes)
 *   index.db                 the SQLite index, copied with SQLite's online backup API
 *   MANIFEST                 always last: "scoped-backup 1", "created <unix time>",
 *                            "schema <user_version>", then one line "<BLAKE2b-256 hex> <size>
 *                            <path>" for index.db and for each blob, blobs in name order
 *
 * The index snapshot is taken first, in one read transaction, while exports go on; then the
 * blobs it references are copied, each checked against its name. A pending export whose blob
 * gc removed meanwhile (it expired) is dropped from the snapshot; a missing blob of a stored
 * object fails the backup. Restore writes into an empty data directory only, checks every
 * entry against the manifest, and leaves the directory empty again when anything is wrong. */
#ifndef SCOPED_BACKUP_H
#define SCOPED_BACKUP_H

#include <stdint.h>

#include "store.h"

#define BACKUP_FORMAT "scoped-backup 1"

typedef struct {
    uint64_t blobs;
    uint64_t bytes;           /* uncompressed: blobs and index */
    uint64_t archive_bytes;   /* the file written or read */
    int64_t pending_dropped;  /* pending exports left out (their blobs were gone) */
    int schema;
} backup_stats_t;

/* Writes FILE (via a temp file beside it, renamed into place when complete). */
int backup_write(store_t *st, const char *file, backup_stats_t *stats, err_t *err);
/* Restores FILE into data_dir, which must be absent or empty. */
int backup_restore(const char *file, const char *data_dir, const limits_t *lim,
                   backup_stats_t *stats, err_t *err);

#endif
