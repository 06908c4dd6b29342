#include "app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

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
    if (!app->bs)
        return err_set(err, ERR_INTERNAL, "cannot open blob store %s", blobs);
    app->login_failures = ratelimit_new(app->cfg.lim.login_failures, app->cfg.lim.login_window_s);
    if (!app->login_failures)
        return err_set(err, ERR_INTERNAL, "out of memory");
    if (pthread_key_create(&app->ix_key, close_thread_index) != 0)
        return err_set(err, ERR_INTERNAL, "pthread_key_create failed");
    index_t *ix = app_index(app);
    if (!ix)
        return err_set(err, ERR_INTERNAL, "cannot open index %s", app->index_path);
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

/* Background upkeep: abandoned pending exports expire, so no stale upload blocks a clientId
 * or holds blobs forever; expired web sessions go too. */
static void *maintenance_main(void *arg)
{
    app_t *app = arg;
    pthread_mutex_lock(&app->maint_lock);
    while (!app->maint_stop) {
        uint64_t every = app->cfg.lim.pending_expiry_s / 4;
        if (every > 60)
            every = 60;
        if (every < 1)
            every = 1;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)every;
        pthread_cond_timedwait(&app->maint_cond, &app->maint_lock, &until);
        if (app->maint_stop)
            break;
        pthread_mutex_unlock(&app->maint_lock);
        index_t *ix = app_index(app);
        int64_t n = 0;
        int64_t before = (int64_t)time(NULL) - (int64_t)app->cfg.lim.pending_expiry_s;
        if (ix && index_begin(ix) == 0) {
            if (index_pending_expire(ix, before, &n) == 0 && index_commit(ix) == 0) {
                if (n)
                    log_info("msg=\"pending exports expired\" count=%lld", (long long)n);
            } else {
                index_rollback(ix);
            }
        }
        if (ix)
            index_session_expire(ix, (int64_t)time(NULL), NULL);
        pthread_mutex_lock(&app->maint_lock);
    }
    pthread_mutex_unlock(&app->maint_lock);
    return NULL;
}

int app_maintenance_start(app_t *app)
{
    pthread_mutex_init(&app->maint_lock, NULL);
    pthread_cond_init(&app->maint_cond, NULL);
    app->maint_stop = false;
    return pthread_create(&app->maint_thread, NULL, maintenance_main, app);
}

void app_maintenance_stop(app_t *app)
{
    pthread_mutex_lock(&app->maint_lock);
    app->maint_stop = true;
    pthread_cond_signal(&app->maint_cond);
    pthread_mutex_unlock(&app->maint_lock);
    pthread_join(app->maint_thread, NULL);
}
