/* POST /<scope>/api/scope/put: a tar body streamed into the pending area of its clientId. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "request.h"

int route_put_begin(req_t *r)
{
    const limits_t *lim = &r->app->cfg.lim;
    char client_id[130];
    if (request_push_options(req_header(r, "push-options"), lim->max_json_depth, client_id,
                             sizeof client_id, &r->err) != 0)
        return reply_error(r, &r->err);
    const char *cl = req_header(r, "content-length");
    unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
    if (declared > lim->max_put_body) {
        err_set(&r->err, ERR_TOO_LARGE, "put body is larger than %llu bytes",
                (unsigned long long)lim->max_put_body);
        return reply_error(r, &r->err);
    }
    if (blob_free_space(r->app->bs) < lim->disk_reserve + declared) {
        err_set(&r->err, ERR_TOO_LARGE, "not enough free disk space for this export");
        return reply_error(r, &r->err);
    }
    store_t st = app_store(r->app);
    r->upload = export_upload_begin(&st, &r->scope, client_id, r->who.user, &r->err);
    if (!r->upload) {
        /* the client's own ExportPersist or RemovePendingDir frees a pending slot soon */
        r->retry_after = 5;
        return reply_error(r, &r->err);
    }
    return MHD_YES;
}

int route_put_data(req_t *r, const char *data, size_t len)
{
    const limits_t *lim = &r->app->cfg.lim;
    if (r->bytes_in > lim->max_put_body) {
        err_set(&r->err, ERR_TOO_LARGE, "put body is larger than %llu bytes",
                (unsigned long long)lim->max_put_body);
        return -1;
    }
    /* checked every 16 MiB or so: the free space must stay above the reserve */
    if ((r->bytes_in >> 24) != ((r->bytes_in - len) >> 24) &&
        blob_free_space(r->app->bs) < lim->disk_reserve + len) {
        err_set(&r->err, ERR_TOO_LARGE, "not enough free disk space for this export");
        return -1;
    }
    return export_upload_feed(r->upload, (const unsigned char *)data, len, &r->err);
}

int handle_put(req_t *r)
{
    export_upload_set_index(r->upload, app_index(r->app));
    if (export_upload_finish(r->upload, &r->err) != 0)
        return reply_error(r, &r->err);
    log_debug("msg=\"put stored\" scope=%s objects=%llu", r->scope.name,
              (unsigned long long)export_upload_objects(r->upload));
    return reply_json(r, 200, json_array());
}
