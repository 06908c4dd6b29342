/* The old remote deprecation (protocol.md §5.9, §13): the `deprecate`/`undeprecate` GraphQL
 * mutations flip the Component's own `deprecated` flag, so that listings and fetched
 * Components show it. */
#ifndef SCOPED_DEPRECATE_H
#define SCOPED_DEPRECATE_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "index.h"
#include "store.h"

/* ids: JSON array of "scope/name[@version]". *result gets {bitIds: [found ids without version],
 * missingComponents: [ids the scope does not hold]}. The Components are rewritten (same ref,
 * new blob) and their index rows updated in one transaction. */
int deprecate_components(store_t *st, const scope_row_t *scope, json_t *ids, bool deprecate,
                         json_t **result, err_t *err);

#endif
