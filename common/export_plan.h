/* The merge of a pending export, shared by the main-lane merge (export.c) and the lane merge
 * (export_lane.c). Internal to those two files. */
#ifndef SCOPED_EXPORT_PLAN_H
#define SCOPED_EXPORT_PLAN_H

#include <jansson.h>

#include "model.h"
#include "refset.h"
#include "store.h"

typedef struct {
    char ref[REF_HEX];
    obj_type_t type;
    char blob[BLOB_HEX];
    int64_t size;
    json_t *json;
    version_info_t vi;
    const char *component; /* for Versions: the uploaded component that reaches it */
} pobj_t;

typedef struct {
    pobj_t *in;
    component_info_t ci;
    bool is_new, changed;
    json_t *result; /* the merged Component; NULL when the uploaded one is stored as is */
    component_row_t row;
    char blob[BLOB_HEX];
    int64_t size;
    bool object_only; /* a lane export's Component: stored as uploaded if absent, not merged */
} cmerge_t;

typedef struct lmerge lmerge_t;

typedef struct {
    store_t *st;
    const scope_row_t *scope;
    pobj_t *objs;
    size_t n, cap;
    cmerge_t *comps;
    size_t ncomps;
    json_t *ids;       /* merged ids */
    json_t *id_set;    /* the same, as keys: ids are added once */
    json_t *comp_by_name; /* uploaded Component name -> [index in comps] */
    json_t *conflicts; /* idsAndVersions */
    json_t *need_update;
    lmerge_t *lanes; /* lane exports (protocol.md §8.4 B) */
    size_t nlanes;
} plan_t;

pobj_t *plan_find(plan_t *p, const char *ref);
pobj_t *plan_version(plan_t *p, const char *ref);
/* Is the object in the upload or in the scope already? */
bool plan_has(plan_t *p, const char *ref);
/* Every Version ref reachable from head through uploaded Versions, stopping at stop. */
int plan_reach(plan_t *p, const char *head, const char *stop, refset_t *out);
void plan_add_id(plan_t *p, const char *name, const char *version);
void plan_add_full_id(plan_t *p, const char *scope, const char *name, const char *version);

/* Lane exports: merge the uploaded Lanes and LaneHistories, and write them. */
int lane_plan_merge(plan_t *p, err_t *err);
int lane_plan_write(plan_t *p, blob_batch_t *batch, err_t *err);
void lane_plan_free(plan_t *p);

#endif
