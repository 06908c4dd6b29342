/* Integrity check of the data directory: every blob against its name, every object row
 * against its blob (present, same size, inflates, header type and ref as the row says, and
 * the ref Bit derives from the content where Bit's rule allows), pending object rows, and the
 * index's own references (components' ref and head, tags, lanes). Reads the index only, so it runs
 * beside the daemon. An unreferenced blob is not damage: that is gc's business. */
#ifndef SCOPED_FSCK_H
#define SCOPED_FSCK_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

typedef struct {
    uint64_t blobs, objects, pending_objects, components, tags, lanes;
    uint64_t damaged_blobs; /* content does not match the name */
    uint64_t problems;      /* every damage found, blobs included */
    uint64_t quarantined;
} fsck_report_t;

/* Writes one line per problem to out. With quarantine set (a directory), damaged blobs are
 * moved there, and the rows that named them are listed as affected. 0 when the check ran
 * (rep->problems says whether anything is damaged), -1 when it could not. */
int fsck_run(store_t *st, const char *quarantine, FILE *out, fsck_report_t *rep, err_t *err);

#endif
