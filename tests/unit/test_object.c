/* The object codec on captured objects: headers, refs by Bit's rule, re-encoding, and bounds. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "capture.h"
#include "model.h"
#include "object.h"
#include "tar.h"
#include "unit.h"

typedef struct {
    buf_t entry;
    char name[256];
    int objects, verified;
} walk_t;

static int on_begin(void *ctx, const char *name, uint64_t size)
{
    walk_t *w = ctx;
    (void)size;
    snprintf(w->name, sizeof w->name, "%s", name);
    buf_reset(&w->entry);
    return 0;
}

static int on_data(void *ctx, const unsigned char *d, size_t n)
{
    buf_append(&((walk_t *)ctx)->entry, d, n);
    return 0;
}

/* Every object decodes, its header names the entry's hash, and where Bit's rule derives the
 * ref from the content, it matches. */
static int on_end(void *ctx)
{
    walk_t *w = ctx;
    obj_type_t type;
    char ref[REF_HEX];
    buf_t payload;
    buf_init(&payload);
    err_t err;
    err_init(&err);
    int rc = obj_decode(w->entry.data, w->entry.len, 1 << 20, &type, ref, &payload, &err);
    CHECK(rc == 0);
    const char *slash = strrchr(w->name, '/');
    CHECK_STR(ref, slash ? slash + 1 : w->name);
    char sha[REF_HEX], expect[REF_HEX];
    sha1_hex(payload.data, payload.len, sha);
    json_t *j = obj_type_is_json(type) ? json_loadb((char *)payload.data, payload.len, 0, NULL)
                                        : NULL;
    if (obj_type_is_json(type))
        CHECK(j != NULL);
    if (obj_expected_ref(type, j, sha, expect)) {
        CHECK_STR(expect, ref);
        w->verified++;
    }
    if (type == OBJ_VERSION) {
        version_info_t vi;
        CHECK(version_info_parse(j, &vi, &err) == 0);
        CHECK(vi.nsources >= 1);
        version_info_free(&vi);
    }
    /* re-encoding gives an object that decodes to the same thing */
    buf_t enc, back;
    buf_init(&enc);
    buf_init(&back);
    obj_type_t t2;
    char r2[REF_HEX];
    CHECK(obj_encode(type, ref, payload.data, payload.len, &enc) == 0);
    CHECK(obj_decode(enc.data, enc.len, 1 << 20, &t2, r2, &back, &err) == 0);
    CHECK(t2 == type && !strcmp(r2, ref) && back.len == payload.len &&
          !memcmp(back.data, payload.data, payload.len));
    buf_free(&enc);
    buf_free(&back);
    json_decref(j);
    buf_free(&payload);
    w->objects++;
    return 0;
}

static void walk_capture(const char *rel, int want_objects)
{
    buf_t body;
    buf_init(&body);
    CHECK(capture_load(rel, &body));
    walk_t w = {0};
    buf_init(&w.entry);
    tar_callbacks_t cb = {on_begin, on_data, on_end};
    tar_reader_t *r = tar_reader_new(&cb, &w, NULL);
    CHECK(tar_reader_feed(r, body.data, body.len) == TAR_OK);
    CHECK(tar_reader_finish(r) == TAR_OK);
    CHECK(w.objects == want_objects);
    CHECK(w.verified > 0);
    tar_reader_free(r);
    buf_free(&w.entry);
    buf_free(&body);
}

static void test_header_size_is_utf16_length(void)
{
    /* "héllo" is 6 bytes and 5 UTF-16 units; an emoji is 4 bytes and 2 units */
    CHECK(utf16_length((const unsigned char *)"h\xc3\xa9llo", 6) == 5);
    CHECK(utf16_length((const unsigned char *)"\xf0\x9f\x98\x80", 4) == 2);
    buf_t enc, out;
    buf_init(&enc);
    buf_init(&out);
    CHECK(obj_encode(OBJ_SOURCE, "0123456789012345678901234567890123456789", "h\xc3\xa9llo", 6,
                     &enc) == 0);
    char raw[64];
    uLongf rawlen = sizeof raw;
    CHECK(uncompress((Bytef *)raw, &rawlen, enc.data, enc.len) == Z_OK);
    CHECK(rawlen > 50 && !memcmp(raw, "Source 0123456789012345678901234567890123456789 5\0", 50));
    buf_free(&enc);
    buf_free(&out);
}

static void test_rejects(void)
{
    err_t err;
    err_init(&err);
    obj_type_t t;
    char ref[REF_HEX];
    buf_t p, enc;
    buf_init(&p);
    buf_init(&enc);
    /* not zlib */
    CHECK(obj_decode((const unsigned char *)"hello", 5, 1024, &t, ref, &p, &err) != 0);
    CHECK(err.kind == ERR_BAD_REQUEST);
    /* unknown type */
    const char bad[] = "Foo 0123456789012345678901234567890123456789 3\0abc";
    uLongf n = compressBound(sizeof bad);
    buf_reserve(&enc, n);
    compress(enc.data, &n, (const Bytef *)bad, sizeof bad - 1);
    err_clear(&err);
    CHECK(obj_decode(enc.data, n, 1024, &t, ref, &p, &err) != 0 && err.kind == ERR_BAD_REQUEST);
    /* a zlib bomb: 8 MiB of zeros stops at the inflate cap */
    size_t big = 8u << 20;
    unsigned char *zeros = calloc(1, big);
    memcpy(zeros, "Source 0123456789012345678901234567890123456789 1", 49);
    n = compressBound(big);
    buf_reserve(&enc, n);
    compress(enc.data, &n, zeros, big);
    free(zeros);
    err_clear(&err);
    CHECK(n < 64 * 1024);
    CHECK(obj_decode(enc.data, n, 1 << 20, &t, ref, &p, &err) != 0 && err.kind == ERR_TOO_LARGE);
    /* truncated stream */
    err_clear(&err);
    CHECK(obj_decode(enc.data, n / 2, 16 << 20, &t, ref, &p, &err) != 0);
    buf_free(&p);
    buf_free(&enc);
}

UNIT_MAIN("object", {
    walk_capture("ref-283/004-POST-api_scope_put.req.bin", 3);
    walk_capture("ref-283-ops/006-POST-api_scope_put.req.bin", 6);
    walk_capture("e2e-ref-legacy160/002-POST-api_scope_put.req.bin", 3);
    walk_capture("ref-283-20comps/002-POST-api_scope_put.req.bin", 60);
    walk_capture("ref-283-ops/014-POST-api_scope_fetch.resp.bin", 8);
    test_header_size_is_utf16_length();
    test_rejects();
})
