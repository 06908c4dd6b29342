/* Fetch: which stored objects answer a fetch request (protocol.md §6.5, §8.5, §8.6, §14). */
#ifndef SCOPED_FETCH_H
#define SCOPED_FETCH_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "refset.h"
#include "store.h"

typedef enum { FETCH_COMPONENT, FETCH_DELTA, FETCH_OBJECT, FETCH_LANE } fetch_type_t;

typedef struct {
    fetch_type_t type;
    bool modern;            /* the client sent x-client-version */
    bool with_deps;
    bool with_history;
    bool include_artifacts;
    bool ignore_missing_head;
    bool include_version_history; /* modern clients only */
    bool only_if_built;           /* dependencies whose build did not succeed are left out */
    bool prefer_dependency_graph; /* no dependencies for Versions that carry their graph */
    bool allow_external;          /* ids of other scopes, as lanes hold them */
    bool include_lane_history;
    char lane[256];               /* laneId's name: ids without version mean the lane's head */
    bool return_nothing_if_current;
} fetch_opts_t;

typedef struct {
    char ref[REF_HEX];
    char blob[BLOB_HEX];
    int64_t size;
    obj_type_t type;
} fetch_item_t;

typedef struct {
    fetch_item_t *items;
    size_t n, cap;
    refset_t seen;
} fetch_list_t;

void fetch_list_init(fetch_list_t *l);
void fetch_list_free(fetch_list_t *l);

/* Reads {"ids":[...],"fetchOptions":{...}}; ids stays borrowed from body. */
int fetch_parse_request(json_t *body, bool modern, uint64_t max_ids, json_t **ids,
                        fetch_opts_t *opts, err_t *err);
/* Collects the objects of every id; unknown ids are skipped, as Bit does. */
int fetch_collect(store_t *st, const scope_row_t *scope, json_t *ids, const fetch_opts_t *o,
                  fetch_list_t *out, err_t *err);

#endif
