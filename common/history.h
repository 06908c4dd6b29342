/* VersionHistory objects (protocol.md §6.4): the server's record of a component's Version DAG,
 * which modern clients ask for on import. Built from the index, so it is always complete for
 * what the scope holds. */
#ifndef SCOPED_HISTORY_H
#define SCOPED_HISTORY_H

#include <jansson.h>

#include "blob.h"
#include "model.h"
#include "store.h"

/* Versions the caller holds parsed (an export's plan): their links are read from there
 * instead of the index rows written from them. lookup answers NULL for any other ref. */
typedef struct {
    const version_info_t *(*lookup)(void *ctx, const char *ref);
    void *ctx;
} history_source_t;

/* Builds and stores (blob + objects row) the VersionHistory of scope/name, walking from head
 * (may be NULL) and every version of tags (tag -> ref). src may be NULL. Blobs go into batch;
 * the caller syncs it before committing. */
int history_store(store_t *st, const scope_row_t *scope, const char *name, const char *head,
                  json_t *tags, const history_source_t *src, blob_batch_t *batch, err_t *err);
/* sha1("scope/name:VersionHistory") */
void history_ref(const char *scope, const char *name, char ref[REF_HEX]);

#endif
