#include "worker.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct worker_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    void **ring; /* jobs waiting, oldest at head */
    size_t cap, head, n;
    bool stop;
    worker_fn run;
    void *ctx;
    pthread_t *threads;
    size_t nthreads;
};

static void *worker_main(void *arg)
{
    worker_pool_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->n && !p->stop)
            pthread_cond_wait(&p->wake, &p->lock);
        if (!p->n)
            break; /* stopping, and nothing left that was taken */
        void *job = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n--;
        pthread_mutex_unlock(&p->lock);
        p->run(job, p->ctx);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

worker_pool_t *worker_pool_new(size_t threads, worker_fn run, void *ctx)
{
    worker_pool_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cap = 256;
    p->ring = calloc(p->cap, sizeof *p->ring);
    p->threads = calloc(threads, sizeof *p->threads);
    if (!p->ring || !p->threads) {
        free(p->ring);
        free(p->threads);
        free(p);
        return NULL;
    }
    p->run = run;
    p->ctx = ctx;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    for (; p->nthreads < threads; p->nthreads++)
        if (pthread_create(&p->threads[p->nthreads], &attr, worker_main, p) != 0)
            break;
    pthread_attr_destroy(&attr);
    if (p->nthreads < threads) {
        worker_pool_stop(p, NULL);
        return NULL;
    }
    return p;
}

static bool grow(worker_pool_t *p)
{
    void **ring = calloc(p->cap * 2, sizeof *ring);
    if (!ring)
        return false;
    for (size_t i = 0; i < p->n; i++)
        ring[i] = p->ring[(p->head + i) % p->cap];
    free(p->ring);
    p->ring = ring;
    p->cap *= 2;
    p->head = 0;
    return true;
}

int worker_pool_submit(worker_pool_t *p, void *job)
{
    pthread_mutex_lock(&p->lock);
    if (p->stop || (p->n == p->cap && !grow(p))) {
        pthread_mutex_unlock(&p->lock);
        return -1;
    }
    p->ring[(p->head + p->n) % p->cap] = job;
    p->n++;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

size_t worker_pool_queued(worker_pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->n;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void worker_pool_stop(worker_pool_t *p, worker_fn cancel)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    while (p->n) {
        void *job = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n--;
        if (cancel)
            cancel(job, p->ctx);
    }
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->ring);
    free(p->threads);
    free(p);
}
