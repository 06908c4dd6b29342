/* GET /healthz and GET /metrics. */
#include <stdio.h>

#include "app.h"

int handle_healthz(req_t *r)
{
    index_t *ix = app_index(r->app);
    if (!ix || !index_healthy(ix) || !blob_healthy(r->app->bs))
        return reply_json(r, 503, json_pack("{s:s}", "status", "unavailable"));
    return reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

int handle_metrics(req_t *r)
{
    char text[512];
    snprintf(text, sizeof text,
             "# HELP scoped_requests_total HTTP requests received.\n"
             "# TYPE scoped_requests_total counter\n"
             "scoped_requests_total %lu\n",
             (unsigned long)atomic_load(&r->app->requests));
    return reply_text(r, 200, "text/plain; version=0.0.4", text);
}
