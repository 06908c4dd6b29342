/* What domain code works on: the index connection of this thread, the blob store, the limits. */
#ifndef SCOPED_STORE_H
#define SCOPED_STORE_H

#include "blob.h"
#include "index.h"
#include "limit.h"

typedef struct {
    index_t *ix;
    blobstore_t *bs;
    const limits_t *lim;
} store_t;

bool store_scope_name_reserved(const char *name);
/* Creates a scope with its ScopeMeta object. 1 if the name is taken. */
int store_scope_create(store_t *st, const char *name, bool is_public, err_t *err);
/* Reads and decodes a stored object of a scope; payload gets the JSON text. */
int store_object_load(store_t *st, int64_t scope, const char *ref, obj_type_t *type,
                      buf_t *payload, err_t *err);
/* Reads and parses a stored JSON object. */
json_t *store_object_json(store_t *st, int64_t scope, const char *ref, obj_type_t want,
                          err_t *err);

#endif
