/* POST /<scope>/api/scope/action: the export steps after put (protocol.md §8.3). */
#include <stdlib.h>
#include <string.h>

#include "app.h"

int handle_action(req_t *r)
{
    json_t *body = req_json(r);
    if (!body)
        return reply_error(r, &r->err);
    const char *name = json_string_value(json_object_get(body, "name"));
    json_t *opts = json_object_get(body, "options");
    const char *client_id = json_string_value(json_object_get(opts, "clientId"));
    store_t st = app_store(r->app);
    int rc;
    json_t *result = NULL;
    if (!name) {
        rc = err_set(&r->err, ERR_BAD_REQUEST, "action body needs a \"name\"");
    } else if (!strcmp(name, "ExportValidate")) {
        bool resuming = json_is_true(json_object_get(opts, "isResumingExport"));
        rc = export_validate(&st, &r->scope, client_id, resuming, r->who.user, &r->err);
    } else if (!strcmp(name, "ExportPersist")) {
        rc = export_persist(&st, &r->scope, client_id, r->who.user, &result, &r->err);
        if (rc == 0 && json_array_size(result) > 0) {
            char *ids = json_dumps(result, JSON_COMPACT);
            auth_audit(st.ix, &r->who, r->address, "export", r->scope.name, ids);
            free(ids);
        }
    } else if (!strcmp(name, "RemovePendingDir")) {
        rc = export_remove_pending(&st, &r->scope, client_id, r->who.user, &r->err);
    } else if (!strcmp(name, "FetchMissingDeps")) {
        /* every dependency in this scope was checked at ExportValidate; other scopes'
         * dependencies are the client's to export there */
        rc = 0;
    } else {
        rc = err_set(&r->err, ERR_ACTION_NOT_FOUND, "action \"%.100s\" is not supported", name);
        err_field(&r->err, "name", json_string(name));
    }
    json_decref(body);
    if (rc != 0)
        return reply_error(r, &r->err);
    return reply_json(r, 200, result ? result : json_object());
}
