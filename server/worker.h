/* A fixed set of threads that run the requests which block (the index, fsync, Argon2id), so that
 * the threads moving bytes for every other connection never wait on them. */
#ifndef SCOPED_WORKER_H
#define SCOPED_WORKER_H

#include <stddef.h>

typedef struct worker_pool worker_pool_t;
typedef void (*worker_fn)(void *job, void *ctx);

worker_pool_t *worker_pool_new(size_t threads, worker_fn run, void *ctx);
/* 0, or -1 when the pool is stopping or out of memory. */
int worker_pool_submit(worker_pool_t *p, void *job);
/* Jobs waiting in the queue: a figure for /metrics. */
size_t worker_pool_queued(worker_pool_t *p);
/* Takes no more jobs, hands those not started to cancel, waits for the running ones, frees. */
void worker_pool_stop(worker_pool_t *p, worker_fn cancel);

#endif
