/* A set of Bit refs (40-hex), for de-duplicating closures and walking history. */
#ifndef SCOPED_REFSET_H
#define SCOPED_REFSET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    unsigned char (*slots)[20];
    unsigned char *used;
    size_t cap, count;
} refset_t;

void refset_init(refset_t *s);
void refset_free(refset_t *s);
/* true when added, false when present already (or out of memory, which callers treat alike
 * only where a duplicate is harmless; refset_add_checked tells them apart) */
bool refset_add(refset_t *s, const char *ref);
int refset_add_checked(refset_t *s, const char *ref); /* 1 added, 0 present, -1 no memory */
bool refset_has(const refset_t *s, const char *ref);

/* Refs in the order first pushed, each once: the queue of a walk through history. */
typedef struct {
    char (*refs)[41];
    size_t n, cap;
    refset_t seen;
} refqueue_t;

void refqueue_init(refqueue_t *q);
void refqueue_free(refqueue_t *q);
/* Appends ref unless it was pushed (or marked seen) before, or is not a 40-hex ref. 0, or 1
 * when out of memory: the shape of index_version_ref_each's callbacks. */
int refqueue_push(void *q, const char *ref);

#endif
