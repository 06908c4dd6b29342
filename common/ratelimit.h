/* Failure budgets per key (a client address): at most max failures per window. */
#ifndef SCOPED_RATELIMIT_H
#define SCOPED_RATELIMIT_H

#include <stdint.h>

typedef struct ratelimit ratelimit_t;

ratelimit_t *ratelimit_new(uint64_t max, uint64_t window_s);
void ratelimit_free(ratelimit_t *rl);
/* Seconds until the key may try again; 0 when it may now. */
uint64_t ratelimit_wait(ratelimit_t *rl, const char *key, int64_t now);
void ratelimit_fail(ratelimit_t *rl, const char *key, int64_t now);

#endif
