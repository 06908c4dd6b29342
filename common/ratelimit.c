#include "ratelimit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* A fixed table: an attacker with many addresses can evict entries but never grow memory. */
#define RL_SLOTS 4096

typedef struct {
    char key[64];
    int64_t window_start;
    uint64_t count;
} slot_t;

struct ratelimit {
    pthread_mutex_t lock;
    uint64_t max, window;
    unsigned char seed[crypto_shorthash_KEYBYTES];
    slot_t slots[RL_SLOTS];
};

ratelimit_t *ratelimit_new(uint64_t max, uint64_t window_s)
{
    ratelimit_t *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->lock, NULL);
    rl->max = max;
    rl->window = window_s;
    randombytes_buf(rl->seed, sizeof rl->seed);
    return rl;
}

void ratelimit_free(ratelimit_t *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static slot_t *slot_for(ratelimit_t *rl, const char *key)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)key, strlen(key), rl->seed);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return &rl->slots[v % RL_SLOTS];
}

uint64_t ratelimit_wait(ratelimit_t *rl, const char *key, int64_t now)
{
    pthread_mutex_lock(&rl->lock);
    slot_t *s = slot_for(rl, key);
    uint64_t wait = 0;
    if (!strncmp(s->key, key, sizeof s->key - 1) && s->count >= rl->max &&
        now < s->window_start + (int64_t)rl->window)
        wait = (uint64_t)(s->window_start + (int64_t)rl->window - now);
    pthread_mutex_unlock(&rl->lock);
    return wait;
}

void ratelimit_fail(ratelimit_t *rl, const char *key, int64_t now)
{
    pthread_mutex_lock(&rl->lock);
    slot_t *s = slot_for(rl, key);
    if (strncmp(s->key, key, sizeof s->key - 1) != 0 ||
        now >= s->window_start + (int64_t)rl->window) {
        snprintf(s->key, sizeof s->key, "%s", key);
        s->window_start = now;
        s->count = 0;
    }
    s->count++;
    pthread_mutex_unlock(&rl->lock);
}
