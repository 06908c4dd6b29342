/* Export: a put body streamed into the pending area of a clientId, then validated and merged
 * into the scope as one transaction (protocol.md §8.2-§8.4). */
#ifndef SCOPED_EXPORT_H
#define SCOPED_EXPORT_H

#include <jansson.h>

#include "error.h"
#include "index.h"
#include "store.h"

typedef struct export_upload export_upload_t;

/* Fails with ERR_CLIENT_ID_IN_USE when the clientId has a pending export already. */
export_upload_t *export_upload_begin(store_t *st, const scope_row_t *scope, const char *client_id,
                                     const char *owner, err_t *err);
int export_upload_feed(export_upload_t *u, const unsigned char *data, size_t len, err_t *err);
/* Checks the archive ended, makes the blobs durable and records the pending export. */
/* The upload is read on one thread and finished on another: each has its own index connection. */
void export_upload_set_index(export_upload_t *u, index_t *ix);
int export_upload_finish(export_upload_t *u, err_t *err);
void export_upload_free(export_upload_t *u);
uint64_t export_upload_objects(const export_upload_t *u);

/* ExportValidate: the whole merge, without writing. */
int export_validate(store_t *st, const scope_row_t *scope, const char *client_id, bool resuming,
                    const char *owner, err_t *err);
/* ExportPersist: merge and commit; *ids gets the merged ids. A retry after success returns the
 * same ids again. */
int export_persist(store_t *st, const scope_row_t *scope, const char *client_id,
                   const char *owner, json_t **ids, err_t *err);
int export_remove_pending(store_t *st, const scope_row_t *scope, const char *client_id,
                          const char *owner, err_t *err);

#endif
