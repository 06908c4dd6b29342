/* jsonparse.c: what the export reads Components and Versions with. Nesting as deep as jansson
 * allows must fit the stack of an HTTP thread (1 MiB, server/http.c), where the put checks
 * entries; a few edges of the grammar read as jansson reads them (tests/fuzz/fuzz_json.c
 * compares the two on everything else). */
#include <pthread.h>
#include <stdbool.h>

#include "jsonparse.h"
#include "unit.h"

#define HTTP_THREAD_STACK (1u << 20)

typedef struct {
    const char *doc;
    size_t len;
    bool ok;
    char err[160];
} deep_t;

static void *read_deep(void *arg)
{
    deep_t *d = arg;
    json_t *j = jsonp_load(d->doc, d->len, d->err, sizeof d->err);
    d->ok = j != NULL;
    json_decref(j);
    return NULL;
}

/* depth levels of {"a": ... } or [ ... ] around a 1, read on a thread with an HTTP thread's stack */
static bool nested(int depth, bool objects, char *err, size_t errlen)
{
    size_t cap = (size_t)depth * 6 + 8, n = 0;
    char *doc = malloc(cap);
    for (int i = 0; i < depth; i++) {
        memcpy(doc + n, objects ? "{\"a\":" : "[", objects ? 5 : 1);
        n += objects ? 5 : 1;
    }
    doc[n++] = '1';
    for (int i = 0; i < depth; i++)
        doc[n++] = objects ? '}' : ']';
    deep_t d = {doc, n, false, ""};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, HTTP_THREAD_STACK);
    pthread_t t;
    bool started = pthread_create(&t, &attr, read_deep, &d) == 0;
    if (started)
        pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    free(doc);
    snprintf(err, errlen, "%s", d.err);
    return started && d.ok;
}

/* jsonp_load and jansson agree: both refuse, or both read the same value */
static bool same_as_jansson(const char *text)
{
    json_error_t je;
    char err[160];
    json_t *want = json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, &je);
    json_t *got = jsonp_load(text, strlen(text), err, sizeof err);
    bool same = !want == !got && (!got || json_equal(want, got)) && (got || err[0]);
    json_decref(want);
    json_decref(got);
    return same;
}

static void run(void)
{
    char err[160];
    /* jansson's limit counts the values on the way down: 2048 with the innermost */
    CHECK(nested(JSONP_MAX_DEPTH - 1, true, err, sizeof err));
    CHECK(nested(JSONP_MAX_DEPTH - 1, false, err, sizeof err));
    CHECK(!nested(JSONP_MAX_DEPTH, true, err, sizeof err));
    CHECK(strstr(err, "maximum parsing depth") != NULL);
    CHECK(!nested(JSONP_MAX_DEPTH + 100, false, err, sizeof err));

    static const char *edges[] = {
        "{\"a\":[1,-0,0.5,-1.25e-3,1E+2,9223372036854775807,-9223372036854775808]}",
        "{\"s\":\"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/ \xc3\xa9\"}",
        "{\"a\":{\"b\":{\"c\":[{\"d\":null},true,false]}},\"e\":{}}",
        "{\"a\":1,\"a\":2}",      /* duplicate key */
        "{\"\\u0000\":1}",         /* NUL in a key */
        "[\"\\ud800\"]",           /* lone surrogate */
        "[12345678901234567890]", /* integer out of range */
        "[1e400]", "[01]", "[1.]", "[1,]", "{\"a\":1,}", "\"top\"", "1", "", " ", "[tru]",
        "[\"\xc0\x80\"]", "[\"\xed\xa0\x80\"]", "[\"\x01\"]", "{\"a\" 1}", "{1:2}",
    };
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
        CHECK(same_as_jansson(edges[i]));
}

UNIT_MAIN("json", run())
