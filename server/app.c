#include "app.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gc.h"
#include "log.h"
#include "objcache.h"
#include "metrics.h"

static void close_thread_index(void *p)
{
    index_close(p);
}

int app_open(app_t *app, err_t *err)
{
    if (mkdir(app->cfg.data_dir, 0750) != 0 && errno != EEXIST)
        return err_set(err, ERR_INTERNAL, "cannot create data directory %s: %s",
                       app->cfg.data_dir, strerror(errno));
    char blobs[4200];
    snprintf(blobs, sizeof blobs, "%s/blobs", app->cfg.data_dir);
    snprintf(app->index_path, sizeof app->index_path, "%s/index.db", app->cfg.data_dir);
    app->bs = blob_open(blobs);
    if (app->bs)
        blob_set_inline_max(app->bs, app->cfg.inline_blob_max);
    if (!app->bs)
        return err_set(err, ERR_INTERNAL, "cannot open blob store %s", blobs);
    app->login_failures = ratelimit_new(app->cfg.lim.login_failures, app->cfg.lim.login_window_s);
    if (!app->login_failures)
        return err_set(err, ERR_INTERNAL, "out of memory");
    if (pthread_key_create(&app->ix_key, close_thread_index) != 0)
        return err_set(err, ERR_INTERNAL, "pthread_key_create failed");
    /* the one place the index is created; app_index only opens it */
    index_t *ix = index_open(app->index_path, err);
    if (!ix)
        return -1;
    pthread_setspecific(app->ix_key, ix);
    return index_migrate(ix, err);
}

void app_close(app_t *app)
{
    index_t *ix = pthread_getspecific(app->ix_key);
    if (ix) {
        index_close(ix);
        pthread_setspecific(app->ix_key, NULL);
    }
    blob_close(app->bs);
    app->bs = NULL;
    ratelimit_free(app->login_failures);
    app->login_failures = NULL;
}

index_t *app_index(app_t *app)
{
    index_t *ix = pthread_getspecific(app->ix_key);
    if (ix)
        return ix;
    /* created by app_open: a thread finding it gone must not start an empty one beside the
     * real one's WAL */
    if (access(app->index_path, F_OK) != 0) {
        log_error("msg=\"index file is gone\" path=%s", app->index_path);
        return NULL;
    }
    err_t err;
    err_init(&err);
    ix = index_open(app->index_path, &err);
    if (!ix) {
        log_error("msg=\"cannot open index\" error=\"%s\"", err.msg);
        return NULL;
    }
    pthread_setspecific(app->ix_key, ix);
    return ix;
}

store_t app_store(app_t *app)
{
    return (store_t){app_index(app), app->bs, &app->cfg.lim};
}

static uint64_t maintenance_tick(const config_t *c)
{
    uint64_t every = c->lim.pending_expiry_s / 4;
    if (every > 60)
        every = 60;
    if (c->gc_interval_s && c->gc_interval_s < every)
        every = c->gc_interval_s;
    if (c->checkpoint_interval_s && c->checkpoint_interval_s < every)
        every = c->checkpoint_interval_s;
    if (c->reply_cache_idle_s && c->reply_cache_idle_s / 3 < every)
        every = c->reply_cache_idle_s / 3;
    return every < 1 ? 1 : every;
}

static void maintenance_gc(app_t *app)
{
    store_t st = app_store(app);
    gc_stats_t s;
    err_t err;
    err_init(&err);
    if (!st.ix || gc_run(&st, app->cfg.gc_grace_s, app->cfg.lim.pending_expiry_s, &s, &err) != 0) {
        log_error("msg=\"gc failed\" error=\"%s\"", st.ix ? err.msg : "no index");
        metrics_gc(NULL, false);
        return;
    }
    metrics_gc(&s, true);
    log_info("msg=\"gc\" blobs=%llu deleted=%llu freed_bytes=%llu pending_expired=%lld "
             "tmp_removed=%llu",
             (unsigned long long)s.blobs_seen, (unsigned long long)s.blobs_deleted,
             (unsigned long long)s.bytes_freed, (long long)s.pending_expired,
             (unsigned long long)s.tmp_removed);
}

/* Steady reads can keep SQLite's own (passive) checkpoints from ever resetting the WAL; a
 * truncating one that waits a moment for readers bounds it. */
static void maintenance_checkpoint(app_t *app)
{
    index_t *ix = app_index(app);
    int frames = 0, done = 0;
    int rc = ix ? index_checkpoint(ix, 1000, &frames, &done) : -1;
    metrics_checkpoint(rc);
    if (rc < 0)
        log_error("msg=\"WAL checkpoint failed\" error=\"%s\"", ix ? index_errmsg(ix) : "no index");
    else
        log_debug("msg=\"WAL checkpoint\" busy=%d frames=%d checkpointed=%d", rc, frames, done);
}

/* Background upkeep: abandoned pending exports expire, so no stale upload blocks a clientId
 * or holds blobs forever; expired web sessions go too; gc and WAL checkpoints run when
 * configured. */
static void *maintenance_main(void *arg)
{
    app_t *app = arg;
    time_t next_gc = time(NULL) + (time_t)app->cfg.gc_interval_s;
    time_t next_checkpoint = time(NULL) + (time_t)app->cfg.checkpoint_interval_s;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)maintenance_tick(&app->cfg);
    pthread_mutex_lock(&app->maint_lock);
    while (!app->maint_stop) {
        int waited = 0;
        if (!app->checkpoint_wanted)
            waited = pthread_cond_timedwait(&app->maint_cond, &app->maint_lock, &until);
        if (app->maint_stop)
            break;
        if (app->checkpoint_wanted) {
            app->checkpoint_wanted = false;
            pthread_mutex_unlock(&app->maint_lock);
            index_t *cix = app_index(app);
            if (cix && index_checkpoint_passive(cix) != 0)
                log_warn("msg=\"WAL checkpoint failed\" error=\"%s\"", index_errmsg(cix));
            pthread_mutex_lock(&app->maint_lock);
            continue;
        }
        if (waited != ETIMEDOUT)
            continue; /* woken for nothing */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)maintenance_tick(&app->cfg);
        pthread_mutex_unlock(&app->maint_lock);
        index_t *ix = app_index(app);
        int64_t n = 0;
        int64_t before = (int64_t)time(NULL) - (int64_t)app->cfg.lim.pending_expiry_s;
        reply_cache_expire(app->replies, app->cfg.reply_cache_idle_s);
        objcache_expire(0);
        /* what an export's plan or a big reply freed goes back to the system, not only to the
         * thread's malloc arena */
        malloc_trim(0);
        if (ix && index_begin(ix) == 0) {
            index_quiet(ix); /* pending exports are in no reply */
            if (index_pending_expire(ix, before, &n) == 0 && index_commit(ix) == 0) {
                if (n)
                    log_info("msg=\"pending exports expired\" count=%lld", (long long)n);
            } else {
                index_rollback(ix);
            }
        }
        if (ix)
            index_session_expire(ix, (int64_t)time(NULL), NULL);
        time_t now = time(NULL);
        if (app->cfg.gc_interval_s && now >= next_gc) {
            maintenance_gc(app);
            next_gc = time(NULL) + (time_t)app->cfg.gc_interval_s;
        }
        if (app->cfg.checkpoint_interval_s && now >= next_checkpoint) {
            maintenance_checkpoint(app);
            next_checkpoint = time(NULL) + (time_t)app->cfg.checkpoint_interval_s;
        }
        pthread_mutex_lock(&app->maint_lock);
    }
    pthread_mutex_unlock(&app->maint_lock);
    return NULL;
}

static void wake_checkpointer(void *arg)
{
    app_t *app = arg;
    pthread_mutex_lock(&app->maint_lock);
    app->checkpoint_wanted = true;
    pthread_cond_signal(&app->maint_cond);
    pthread_mutex_unlock(&app->maint_lock);
}

int app_maintenance_start(app_t *app)
{
    pthread_mutex_init(&app->maint_lock, NULL);
    pthread_cond_init(&app->maint_cond, NULL);
    app->maint_stop = false;
    app->checkpoint_wanted = false;
    if (pthread_create(&app->maint_thread, NULL, maintenance_main, app) != 0)
        return -1;
    index_set_checkpointer(wake_checkpointer, app);
    return 0;
}

void app_maintenance_stop(app_t *app)
{
    index_set_checkpointer(NULL, NULL);
    pthread_mutex_lock(&app->maint_lock);
    app->maint_stop = true;
    pthread_cond_signal(&app->maint_cond);
    pthread_mutex_unlock(&app->maint_lock);
    pthread_join(app->maint_thread, NULL);
}
