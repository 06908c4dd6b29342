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
