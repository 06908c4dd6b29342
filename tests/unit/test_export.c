/* Export merge and fetch closures on captured real exports: bit-bin dev.283 exporting util and
 * app, then a new version of both, then another workspace's conflicting util@1.0.1. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "export.h"
#include "fetch.h"
#include "history.h"
#include "log.h"
#include "model.h"
#include "unit.h"

static store_t st;
static scope_row_t scope;
static limits_t lim = LIMITS_DEFAULT;

static int upload(const char *capture, const char *client_id, size_t chunk, err_t *err)
{
    buf_t body;
    buf_init(&body);
    if (!capture_load(capture, &body))
        return -2;
    export_upload_t *u = export_upload_begin(&st, &scope, client_id, NULL, err);
    int rc = u ? 0 : -1;
    for (size_t off = 0; rc == 0 && off < body.len; off += chunk) {
        size_t n = body.len - off < chunk ? body.len - off : chunk;
        rc = export_upload_feed(u, body.data + off, n, err);
    }
    if (rc == 0)
        rc = export_upload_finish(u, err);
    export_upload_free(u);
    buf_free(&body);
    return rc;
}

static bool ids_equal(json_t *ids, const char *expect_json)
{
    json_t *e = json_loads(expect_json, 0, NULL);
    bool ok = ids && json_equal(ids, e);
    if (!ok) {
        char *got = ids ? json_dumps(ids, 0) : NULL;
        fprintf(stderr, "ids: got %s, want %s\n", got ? got : "(null)", expect_json);
        free(got);
    }
    json_decref(e);
    return ok;
}

static bool list_has(const fetch_list_t *l, const char *ref)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->items[i].ref, ref))
            return true;
    return false;
}

static void fetch_ids(const char *ids_json, const char *opts_json, bool modern, fetch_list_t *out)
{
    char body[2048];
    snprintf(body, sizeof body, "{\"ids\":%s,\"fetchOptions\":%s}", ids_json, opts_json);
    json_t *b = json_loads(body, 0, NULL), *ids;
    fetch_opts_t o;
    err_t err;
    err_init(&err);
    fetch_list_init(out);
    CHECK(fetch_parse_request(b, modern, 1000, &ids, &o, &err) == 0);
    CHECK(fetch_collect(&st, &scope, ids, &o, out, &err) == 0);
    json_decref(b);
}

#define UTIL_V100 "6ef5ec4c58f10183cf43f62a20087c5b04014278"
#define UTIL_V101 "199184c2d377367f08bbcf11b5401b829c98c962"
#define APP_V100 "fc116a47d937434435b2dcdaa3c135e2d443f87b"
#define APP_V101 "ad1dfbc3d131dd8f60e46dd243f37585a06dc842"
#define APP_COMP "6bf3453263562784bf0941cd6e7462451638ff84"
#define UTIL_COMP "86c28c4221206599fcd7e8b65b3bf49e0abb8a3d"
#define UTIL_SRC101 "360cb92867bc91020520ac4ac6a54d34c448e6f6"

static void test_export_and_merge(void)
{
    err_t err;
    err_init(&err);
    json_t *ids = NULL;
    /* first export: util and app 1.0.0, fed in odd chunk sizes */
    CHECK(upload("ref-283-ops/002-POST-api_scope_put.req.bin", "c1", 333, &err) == 0);
    CHECK(export_validate(&st, &scope, "c1", false, NULL, &err) == 0);
    CHECK(export_persist(&st, &scope, "c1", NULL, &ids, &err) == 0);
    CHECK(ids_equal(ids, "[\"myorg.myscope/app@1.0.0\",\"myorg.myscope/util@1.0.0\"]") ||
          ids_equal(ids, "[\"myorg.myscope/util@1.0.0\",\"myorg.myscope/app@1.0.0\"]"));
    json_decref(ids);
    /* a retried ExportPersist returns the same ids */
    CHECK(export_persist(&st, &scope, "c1", NULL, &ids, &err) == 0);
    CHECK(json_array_size(ids) == 2);
    json_decref(ids);

    /* the clientId cannot be uploaded again */
    err_clear(&err);
    CHECK(upload("ref-283-ops/002-POST-api_scope_put.req.bin", "c1", 4096, &err) != 0);
    CHECK(err.kind == ERR_CLIENT_ID_IN_USE);
    err_clear(&err);

    /* incremental export: only the new tags are merged */
    CHECK(upload("ref-283-ops/006-POST-api_scope_put.req.bin", "c2", 4096, &err) == 0);
    CHECK(export_validate(&st, &scope, "c2", false, NULL, &err) == 0);
    CHECK(export_persist(&st, &scope, "c2", NULL, &ids, &err) == 0);
    CHECK(json_array_size(ids) == 2);
    json_decref(ids);

    component_row_t row;
    CHECK(index_component_get(st.ix, scope.id, "util", &row) == 0);
    CHECK_STR(row.latest, "1.0.1");
    char v[REF_HEX];
    CHECK(index_tag_get(st.ix, scope.id, "util", "1.0.0", v) == 0 && !strcmp(v, UTIL_V100));
    CHECK(index_tag_get(st.ix, scope.id, "util", "1.0.1", v) == 0 && !strcmp(v, UTIL_V101));

    /* another workspace's util@1.0.1: a conflict, with both payload field names */
    CHECK(upload("ref-283-ops/021-POST-api_scope_put.req.bin", "c3", 4096, &err) == 0);
    CHECK(export_validate(&st, &scope, "c3", false, NULL, &err) != 0);
    CHECK(err.kind == ERR_MERGE_CONFLICT);
    CHECK(err_bit_code(err.kind) == 131);
    json_t *expect = json_loads("[{\"id\":\"myorg.myscope/util\",\"versions\":[\"1.0.1\"],"
                                "\"isDeleted\":false}]",
                                0, NULL);
    CHECK(json_equal(json_object_get(err.extra, "idsAndVersions"), expect));
    CHECK(json_equal(json_object_get(err.extra, "idsAndVersionsWithConflicts"), expect));
    json_decref(expect);
    err_clear(&err);
    CHECK(export_persist(&st, &scope, "c3", NULL, &ids, &err) != 0 && err.kind == ERR_MERGE_CONFLICT);
    err_clear(&err);
    CHECK(export_remove_pending(&st, &scope, "c3", NULL, &err) == 0);
    CHECK(index_tag_get(st.ix, scope.id, "util", "1.0.1", v) == 0 && !strcmp(v, UTIL_V101));
    CHECK(export_validate(&st, &scope, "c3", false, NULL, &err) != 0 && err.kind == ERR_NO_PENDING);
    err_clear(&err);
}

static void test_fetch_closures(void)
{
    fetch_list_t l;
    /* the old client's import: the app, all its versions, and its dependency */
    fetch_ids("[\"myorg.myscope/app\"]", "{\"type\":\"component\",\"withoutDependencies\":false}",
              false, &l);
    CHECK(list_has(&l, APP_COMP) && list_has(&l, APP_V100) && list_has(&l, APP_V101));
    CHECK(list_has(&l, UTIL_COMP) && list_has(&l, UTIL_V101) && list_has(&l, UTIL_SRC101));
    CHECK(!list_has(&l, UTIL_V100)); /* a dependency comes with its pinned version only */
    char meta[REF_HEX];
    sha1_hex3("myorg.myscope", NULL, NULL, meta);
    CHECK(l.n > 0 && !strcmp(l.items[0].ref, meta));
    fetch_list_free(&l);

    /* withoutDependencies: that version and its Sources */
    fetch_ids("[\"myorg.myscope/util@1.0.0\"]",
              "{\"type\":\"component\",\"withoutDependencies\":true}", false, &l);
    CHECK(list_has(&l, UTIL_COMP) && list_has(&l, UTIL_V100) && !list_has(&l, UTIL_V101));
    fetch_list_free(&l);

    /* unknown ids and other scopes' ids are skipped */
    fetch_ids("[\"myorg.myscope/nope\", \"other.scope/util\"]", "{}", false, &l);
    CHECK(l.n == 0);
    fetch_list_free(&l);

    /* a modern delta fetch of a client that is current gets nothing for it */
    fetch_ids("[\"myorg.myscope/util@" UTIL_V101 "\"]",
              "{\"type\":\"component-delta\",\"fetchSchema\":\"0.0.3\","
              "\"returnNothingIfGivenVersionExists\":true}",
              true, &l);
    CHECK(!list_has(&l, UTIL_COMP));
    fetch_list_free(&l);
    fetch_ids("[\"myorg.myscope/util@" UTIL_V100 "\"]",
              "{\"type\":\"component-delta\",\"fetchSchema\":\"0.0.3\","
              "\"returnNothingIfGivenVersionExists\":true}",
              true, &l);
    CHECK(list_has(&l, UTIL_COMP) && list_has(&l, UTIL_V101) && !list_has(&l, UTIL_V100));
    fetch_list_free(&l);

    /* VersionHistory: generated at persist, sent only to modern clients that ask for it */
    char vh[REF_HEX];
    history_ref("myorg.myscope", "util", vh);
    fetch_ids("[\"myorg.myscope/util\"]",
              "{\"type\":\"component\",\"withoutDependencies\":true,\"fetchSchema\":\"0.0.3\","
              "\"includeVersionHistory\":true}",
              true, &l);
    CHECK(list_has(&l, vh));
    fetch_list_free(&l);
    fetch_ids("[\"myorg.myscope/util\"]", "{\"includeVersionHistory\":true}", false, &l);
    CHECK(list_has(&l, UTIL_COMP) && !list_has(&l, vh));
    fetch_list_free(&l);
    err_t err;
    err_init(&err);
    json_t *vhj = store_object_json(&st, scope.id, vh, OBJ_VERSIONHISTORY, &err);
    CHECK(vhj != NULL);
    CHECK_STR(json_string_value(json_object_get(vhj, "name")), "util");
    /* legacy tags have no parents: both versions are listed, each with an empty parents list */
    CHECK(json_array_size(json_object_get(vhj, "versions")) == 2);
    json_decref(vhj);

    /* type object: raw hashes that exist */
    fetch_ids("[\"" UTIL_SRC101 "\", \"0000000000000000000000000000000000000000\", \"../x\"]",
              "{\"type\":\"object\"}", false, &l);
    CHECK(l.n == 1 && list_has(&l, UTIL_SRC101));
    fetch_list_free(&l);
}

static void test_bad_uploads(void)
{
    err_t err;
    err_init(&err);
    buf_t body;
    buf_init(&body);
    capture_load("ref-283-ops/002-POST-api_scope_put.req.bin", &body);
    /* flip a byte inside the first object's zlib stream */
    body.data[512 + 40] ^= 0x55;
    export_upload_t *u = export_upload_begin(&st, &scope, "bad1", NULL, &err);
    CHECK(u != NULL);
    CHECK(export_upload_feed(u, body.data, body.len, &err) != 0);
    CHECK(err.kind == ERR_BAD_REQUEST);
    export_upload_free(u);
    err_clear(&err);
    pending_row_t p = {0};
    CHECK(index_pending_get(st.ix, scope.id, "bad1", &p) == 1);
    buf_free(&body);
}

int main(void)
{
    log_level = LOG_WARN;
    char dir[] = "/tmp/scoped-unit-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[256];
    snprintf(path, sizeof path, "%s/blobs", dir);
    st.bs = blob_open(path);
    snprintf(path, sizeof path, "%s/index.db", dir);
    err_t err;
    err_init(&err);
    st.ix = index_open(path, &err);
    st.lim = &lim;
    CHECK(st.bs && st.ix && index_migrate(st.ix, &err) == 0);
    CHECK(store_scope_create(&st, "myorg.myscope", false, &err) == 0);
    CHECK(store_scope_create(&st, "myorg.myscope", false, &err) == 1);
    CHECK(index_scope_get(st.ix, "myorg.myscope", &scope) == 0);
    test_export_and_merge();
    test_fetch_closures();
    test_bad_uploads();
    index_close(st.ix);
    blob_close(st.bs);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        unit_failed++;
    printf("export: %d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}
