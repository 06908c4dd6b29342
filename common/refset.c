#include "refset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void refset_init(refset_t *s)
{
    memset(s, 0, sizeof *s);
}

void refset_free(refset_t *s)
{
    free(s->slots);
    free(s->used);
    refset_init(s);
}

static size_t slot_of(const refset_t *s, const unsigned char key[20])
{
    uint64_t h;
    memcpy(&h, key, sizeof h); /* refs are hashes: their bytes are already uniform */
    size_t i = (size_t)h & (s->cap - 1);
    while (s->used[i] && memcmp(s->slots[i], key, 20) != 0)
        i = (i + 1) & (s->cap - 1);
    return i;
}

static int grow(refset_t *s)
{
    refset_t n;
    n.cap = s->cap ? s->cap * 2 : 64;
    n.count = s->count;
    n.slots = malloc(n.cap * 20);
    n.used = calloc(n.cap, 1);
    if (!n.slots || !n.used) {
        free(n.slots);
        free(n.used);
        return -1;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->used[i])
            continue;
        size_t j = slot_of(&n, s->slots[i]);
        memcpy(n.slots[j], s->slots[i], 20);
        n.used[j] = 1;
    }
    free(s->slots);
    free(s->used);
    *s = n;
    return 0;
}

int refset_add_checked(refset_t *s, const char *ref)
{
    unsigned char key[20];
    if (!hex_decode(ref, 40, key))
        return -1;
    if ((s->count + 1) * 2 > s->cap && grow(s) != 0)
        return -1;
    size_t i = slot_of(s, key);
    if (s->used[i])
        return 0;
    memcpy(s->slots[i], key, 20);
    s->used[i] = 1;
    s->count++;
    return 1;
}

bool refset_add(refset_t *s, const char *ref)
{
    return refset_add_checked(s, ref) == 1;
}

bool refset_has(const refset_t *s, const char *ref)
{
    unsigned char key[20];
    if (!s->cap || !hex_decode(ref, 40, key))
        return false;
    return s->used[slot_of(s, key)] != 0;
}

void refqueue_init(refqueue_t *q)
{
    memset(q, 0, sizeof *q);
    refset_init(&q->seen);
}

void refqueue_free(refqueue_t *q)
{
    free(q->refs);
    refset_free(&q->seen);
    memset(q, 0, sizeof *q);
}

int refqueue_push(void *ctx, const char *ref)
{
    refqueue_t *q = ctx;
    if (strlen(ref) != 40 || !is_hex(ref, 40))
        return 0; /* not a ref: nothing to walk to */
    int added = refset_add_checked(&q->seen, ref);
    if (added <= 0)
        return added < 0;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        void *p = realloc(q->refs, cap * sizeof *q->refs);
        if (!p)
            return 1;
        q->refs = p;
        q->cap = cap;
    }
    memcpy(q->refs[q->n++], ref, 41);
    return 0;
}
