/* What the GraphQL reads of protocol.md §5 compute from a scope: a component's log, the latest
 * versions of ids, a legacy ConsumerComponent for `bit show --remote`, and the dependency
 * graph. Each returns 0 with *out set, or -1 with err set (ERR_COMPONENT_NOT_FOUND for an id the
 * scope does not hold). */
#ifndef SCOPED_QUERY_H
#define SCOPED_QUERY_H

#include <jansson.h>

#include "error.h"
#include "index.h"
#include "store.h"

/* getLogs(id): [{message, username, email, date, hash, tag}] oldest first: the Versions
 * reachable from the head through parents, or for legacy components every tagged Version. */
int query_log(store_t *st, const scope_row_t *scope, const char *id, json_t **out, err_t *err);

/* _legacyLatestVersions(ids): ["scope/name@<head as tag or hash>", ...] */
int query_latest_versions(store_t *st, const scope_row_t *scope, json_t *ids, json_t **out,
                          err_t *err);

/* _getLegacy(id): the JSON text of a legacy ConsumerComponent (files with their contents), or
 * *out NULL when the scope does not hold that id. *out is malloc'd. */
int query_legacy_component(store_t *st, const scope_row_t *scope, const char *id, char **out,
                           err_t *err);

/* graph(ids, filter): {nodes: [{id, component: {id: {name, version, scope}}}], edges:
 * [{sourceId, targetId, dependencyLifecycleType}]}, as Bit's scope answers it: the versions ids
 * name (no version: the latest; ids empty or null: the latest of every component) and every
 * version their dependencies reach, with an edge per direct dependency. An id the scope does not
 * hold is ERR_COMPONENT_NOT_FOUND. filter "runtimeOnly" follows runtime and peer dependencies
 * only. */
int query_graph(store_t *st, const scope_row_t *scope, json_t *ids, const char *filter,
                json_t **out, err_t *err);

#endif
