/* Hard removal of components from a scope (api/scope/delete, protocol.md §8.7): the Component
 * object, its VersionHistory and all its Versions, tags and snaps alike, leave the index; their
 * blobs stay for gc. */
#ifndef SCOPED_REMOVE_H
#define SCOPED_REMOVE_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "index.h"
#include "store.h"

/* ids: JSON array of "scope/name" strings (a version is ignored). Unless force, nothing is
 * removed when another component of the scope depends on one of them. *result gets Bit's
 * RemovedObjects shape: removedComponentIds, missingComponents, removedDependencies,
 * dependentBits, removedFromLane, removedLanes. */
int remove_components(store_t *st, const scope_row_t *scope, json_t *ids, bool force,
                      json_t **result, err_t *err);

/* The RemovedObjects reply with every key present and empty. */
json_t *remove_result_new(void);

#endif
