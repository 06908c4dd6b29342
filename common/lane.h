/* Lanes of a scope: reading the Lane objects the scope holds (protocol.md §6.4, §5.7, §8.5). */
#ifndef SCOPED_LANE_H
#define SCOPED_LANE_H

#include <jansson.h>
#include <stdbool.h>

#include "store.h"

bool lane_name_valid(const char *s);
/* sha1("<laneHash>:LaneHistory") */
void lane_history_ref(const char *lane_ref, char out[REF_HEX]);
/* "scope/lane" or "lane" → the lane's name; NULL when malformed. */
const char *lane_id_name(const char *id);
/* The stored Lane object of a lane of this scope, by name; NULL with err set to
 * ERR_LANE_NOT_FOUND (scopeName, laneName) when absent. */
json_t *lane_load(store_t *st, const scope_row_t *scope, const char *name, char ref[REF_HEX],
                  err_t *err);
/* The head of scope/name on the lane, or NULL. */
const char *lane_head(json_t *lane, const char *scope, const char *name);

/* `bit lane remove --remote`: removes lanes (the objects stay for gc); unless force, a lane
 * whose heads are not all on main is refused. result: the delete reply. */
int lane_remove(store_t *st, const scope_row_t *scope, json_t *ids, bool force, json_t **result,
                err_t *err);

#endif
