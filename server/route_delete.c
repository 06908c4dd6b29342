/* POST /<scope>/api/scope/delete: `bit remove --remote` and `bit lane remove --remote`
 * (protocol.md §8.7). A write route: the caller needs the developer or admin role. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "lane.h"
#include "remove.h"

int handle_delete(req_t *r)
{
    json_t *body = req_json(r);
    if (!body)
        return reply_error(r, &r->err);
    json_t *ids = json_object_get(body, "ids");
    json_t *force = json_object_get(body, "force");
    json_t *lanes = json_object_get(body, "lanes");
    json_t *result = NULL;
    int rc;
    if (!json_is_object(body) || (force && !json_is_boolean(force)) ||
        (lanes && !json_is_boolean(lanes)))
        rc = err_set(&r->err, ERR_BAD_REQUEST,
                     "delete body is {\"ids\": [...], \"force\": bool, \"lanes\": bool}");
    else if (json_is_true(lanes)) {
        store_t st = app_store(r->app);
        rc = lane_remove(&st, &r->scope, ids, json_is_true(force), &result, &r->err);
        if (rc == 0) {
            char *detail = json_dumps(ids, JSON_COMPACT);
            auth_audit(st.ix, &r->who, r->address, "lane.delete", r->scope.name, detail);
            free(detail);
        }
    }
    else {
        store_t st = app_store(r->app);
        rc = remove_components(&st, &r->scope, ids, json_is_true(force), &result, &r->err);
        json_t *removed = json_object_get(result, "removedComponentIds");
        if (rc == 0 && json_array_size(removed)) {
            json_t *what = json_pack("{s:O, s:b}", "ids", removed, "force", json_is_true(force));
            char *detail = json_dumps(what, JSON_COMPACT);
            auth_audit(st.ix, &r->who, r->address, "delete", r->scope.name, detail);
            free(detail);
            json_decref(what);
        }
    }
    json_decref(body);
    if (rc != 0)
        return reply_error(r, &r->err);
    return reply_json(r, 200, result);
}
