#include "object.h"

#include <jansson.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
    [OBJ_UNKNOWN] = "",
    [OBJ_COMPONENT] = "Component",
    [OBJ_VERSION] = "Version",
    [OBJ_SOURCE] = "Source",
    [OBJ_SCOPEMETA] = "ScopeMeta",
    [OBJ_SYMLINK] = "Symlink",
    [OBJ_LANE] = "Lane",
    [OBJ_EXPORTMETADATA] = "ExportMetadata",
    [OBJ_VERSIONHISTORY] = "VersionHistory",
    [OBJ_LANEHISTORY] = "LaneHistory",
};

const char *obj_type_name(obj_type_t t)
{
    return t <= OBJ_LANEHISTORY ? type_names[t] : "";
}

obj_type_t obj_type_parse(const char *s, size_t len)
{
    for (int t = OBJ_COMPONENT; t <= OBJ_LANEHISTORY; t++)
        if (strlen(type_names[t]) == len && memcmp(type_names[t], s, len) == 0)
            return (obj_type_t)t;
    return OBJ_UNKNOWN;
}

bool obj_type_modern_only(obj_type_t t)
{
    return t == OBJ_EXPORTMETADATA || t == OBJ_VERSIONHISTORY || t == OBJ_LANEHISTORY;
}

bool obj_type_is_json(obj_type_t t)
{
    return t != OBJ_SOURCE && t != OBJ_UNKNOWN;
}

void obj_decoder_init(obj_decoder_t *d, uint64_t max_inflated)
{
    memset(d, 0, sizeof *d);
    d->max_inflated = max_inflated;
    sha1_init(&d->sha);
    buf_init(&d->payload);
}

void obj_decoder_free(obj_decoder_t *d)
{
    if (d->zinit)
        inflateEnd(&d->zs);
    d->zinit = false;
    buf_free(&d->payload);
}

/* header = "<Type> <ref> <size>"; readers ignore size, but it must be a number */
static int parse_header(obj_decoder_t *d, err_t *err)
{
    const char *h = d->header;
    const char *sp1 = memchr(h, ' ', d->hlen);
    if (!sp1)
        return err_set(err, ERR_BAD_REQUEST, "object header has no type");
    d->type = obj_type_parse(h, (size_t)(sp1 - h));
    if (d->type == OBJ_UNKNOWN)
        return err_set(err, ERR_BAD_REQUEST, "unknown object type \"%.*s\"",
                       (int)((sp1 - h) > 40 ? 40 : (sp1 - h)), h);
    const char *r = sp1 + 1;
    const char *end = h + d->hlen;
    const char *sp2 = memchr(r, ' ', (size_t)(end - r));
    if (!sp2 || !is_ref40(r, (size_t)(sp2 - r)))
        return err_set(err, ERR_BAD_REQUEST, "object header has no valid hash");
    memcpy(d->ref, r, 40);
    d->ref[40] = 0;
    const char *n = sp2 + 1;
    if (n == end || end - n > 20)
        return err_set(err, ERR_BAD_REQUEST, "object header has no valid size");
    for (const char *p = n; p < end; p++)
        if (*p < '0' || *p > '9')
            return err_set(err, ERR_BAD_REQUEST, "object header has no valid size");
    if (obj_type_is_json(d->type))
        d->keep_payload = true;
    return 0;
}

static int consume_inflated(obj_decoder_t *d, const unsigned char *p, size_t n, err_t *err)
{
    d->inflated += n;
    if (d->inflated > d->max_inflated)
        return err_set(err, ERR_TOO_LARGE, "object inflates past %llu bytes",
                       (unsigned long long)d->max_inflated);
    while (!d->header_done && n) {
        if (*p == 0) {
            d->header_done = true;
            p++;
            n--;
            if (parse_header(d, err))
                return -1;
            break;
        }
        if (d->hlen + 1 >= sizeof d->header)
            return err_set(err, ERR_BAD_REQUEST, "object header too long");
        d->header[d->hlen++] = (char)*p++;
        n--;
    }
    if (!n)
        return 0;
    sha1_update(&d->sha, n, p);
    if (d->keep_payload && !buf_append(&d->payload, p, n))
        return err_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

int obj_decoder_feed(obj_decoder_t *d, const unsigned char *data, size_t len, err_t *err)
{
    if (!d->zinit) {
        memset(&d->zs, 0, sizeof d->zs);
        if (inflateInit(&d->zs) != Z_OK)
            return err_set(err, ERR_INTERNAL, "inflateInit failed");
        d->zinit = true;
    }
    if (len == 0)
        return 0;
    if (d->ended)
        return err_set(err, ERR_BAD_REQUEST, "trailing bytes after the zlib stream of an object");
    unsigned char out[16384];
    d->zs.next_in = (unsigned char *)data;
    d->zs.avail_in = (uInt)len;
    if ((size_t)d->zs.avail_in != len)
        return err_set(err, ERR_INTERNAL, "chunk too large");
    do {
        d->zs.next_out = out;
        d->zs.avail_out = sizeof out;
        int rc = inflate(&d->zs, Z_NO_FLUSH);
        size_t got = sizeof out - d->zs.avail_out;
        if (got && consume_inflated(d, out, got, err))
            return -1;
        if (rc == Z_STREAM_END) {
            d->ended = true;
            if (d->zs.avail_in > 0)
                return err_set(err, ERR_BAD_REQUEST, "trailing bytes after the zlib stream");
            return 0;
        }
        if (rc == Z_BUF_ERROR)
            return 0; /* needs more input */
        if (rc != Z_OK)
            return err_set(err, ERR_BAD_REQUEST, "object is not valid zlib data (%s)",
                           d->zs.msg ? d->zs.msg : "inflate error");
    } while (d->zs.avail_out == 0 || d->zs.avail_in > 0);
    return 0;
}

/* One buffer holds at most this much inflated; larger objects stream through zlib. */
#define WHOLE_IN_MAX (1u << 20)
#define WHOLE_OUT_MAX (16u << 20)
#define SCRATCH_KEEP (1u << 20) /* larger output buffers are not kept between objects */

/* libdeflate's compressors (hundreds of KiB each, page-faulted in afresh when allocated for
 * every object) and decompressors are kept for re-use, a few of each. */
#define POOL_MAX 8
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct libdeflate_compressor *cpool[POOL_MAX];
static struct libdeflate_decompressor *dpool[POOL_MAX];
static int ncpool, ndpool;

static struct libdeflate_compressor *get_compressor(void)
{
    pthread_mutex_lock(&pool_lock);
    struct libdeflate_compressor *c = ncpool ? cpool[--ncpool] : NULL;
    pthread_mutex_unlock(&pool_lock);
    return c ? c : libdeflate_alloc_compressor(6);
}

static void put_compressor(struct libdeflate_compressor *c)
{
    pthread_mutex_lock(&pool_lock);
    if (ncpool < POOL_MAX) {
        cpool[ncpool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    if (c)
        libdeflate_free_compressor(c);
}

static struct libdeflate_decompressor *get_decompressor(void)
{
    pthread_mutex_lock(&pool_lock);
    struct libdeflate_decompressor *d = ndpool ? dpool[--ndpool] : NULL;
    pthread_mutex_unlock(&pool_lock);
    return d ? d : libdeflate_alloc_decompressor();
}

static void put_decompressor(struct libdeflate_decompressor *d)
{
    pthread_mutex_lock(&pool_lock);
    if (ndpool < POOL_MAX) {
        dpool[ndpool++] = d;
        d = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    if (d)
        libdeflate_free_decompressor(d);
}

void obj_scratch_free(obj_scratch_t *z)
{
    if (z->dec)
        put_decompressor(z->dec);
    z->dec = NULL;
    buf_free(&z->out);
}

int obj_decoder_whole(obj_decoder_t *d, obj_scratch_t *z, const unsigned char *data, size_t len,
                      err_t *err)
{
    if (d->zinit || d->ended || len > WHOLE_IN_MAX)
        return 1;
    if (!z->dec && !(z->dec = get_decompressor()))
        return 1;
    uint64_t limit = d->max_inflated + 1 < WHOLE_OUT_MAX ? d->max_inflated + 1 : WHOLE_OUT_MAX;
    size_t cap = len * 4 + 4096;
    if (cap < z->out.cap)
        cap = z->out.cap - 1;
    int rc = 1;
    for (;;) {
        if (cap > limit)
            cap = (size_t)limit;
        buf_reset(&z->out);
        if (!buf_reserve(&z->out, cap))
            break;
        size_t in_used = 0, got = 0;
        enum libdeflate_result r =
            libdeflate_zlib_decompress_ex(z->dec, data, len, z->out.data, cap, &in_used, &got);
        if (r == LIBDEFLATE_SUCCESS && in_used == len) {
            d->ended = true;
            rc = consume_inflated(d, z->out.data, got, err) ? -1 : 0;
            break;
        }
        if (r != LIBDEFLATE_INSUFFICIENT_SPACE || cap >= limit)
            break; /* bad data, trailing bytes, or more than one buffer: zlib says which */
        cap *= 2;
    }
    if (z->out.cap > SCRATCH_KEEP)
        buf_free(&z->out);
    return rc;
}

int obj_decoder_finish(obj_decoder_t *d, err_t *err)
{
    if (!d->ended)
        return err_set(err, ERR_BAD_REQUEST, "object zlib stream is truncated");
    if (!d->header_done)
        return err_set(err, ERR_BAD_REQUEST, "object has no header");
    return 0;
}

int obj_decode(const unsigned char *data, size_t len, uint64_t max_inflated, obj_type_t *type,
               char ref[REF_HEX], buf_t *payload, err_t *err)
{
    obj_scratch_t z = {0};
    int rc = obj_decode_with(&z, data, len, max_inflated, type, ref, payload, err);
    obj_scratch_free(&z);
    return rc;
}

int obj_decode_with(obj_scratch_t *z, const unsigned char *data, size_t len, uint64_t max_inflated,
                    obj_type_t *type, char ref[REF_HEX], buf_t *payload, err_t *err)
{
    obj_decoder_t d;
    obj_decoder_init(&d, max_inflated);
    d.keep_payload = true;
    int rc = obj_decoder_whole(&d, z, data, len, err);
    if (rc == 1) {
        rc = 0;
        obj_decoder_free(&d);
        obj_decoder_init(&d, max_inflated);
        d.keep_payload = true;
    } else {
        len = 0; /* decoded whole, or failed */
    }
    /* zlib's avail_in is 32 bits: feed large blobs in slices */
    for (size_t off = 0; off < len && rc == 0;) {
        size_t n = len - off > (1u << 30) ? (1u << 30) : len - off;
        rc = obj_decoder_feed(&d, data + off, n, err);
        off += n;
    }
    if (rc == 0)
        rc = obj_decoder_finish(&d, err);
    if (rc == 0) {
        *type = d.type;
        memcpy(ref, d.ref, REF_HEX);
        buf_free(payload);
        *payload = d.payload;
        buf_init(&d.payload);
    }
    obj_decoder_free(&d);
    return rc;
}

size_t utf16_length(const unsigned char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if ((c & 0xC0) == 0x80)
            continue; /* continuation byte */
        n += (c >= 0xF0) ? 2 : 1;
    }
    return n;
}

int obj_encode(obj_type_t type, const char *ref, const void *payload, size_t len, buf_t *out)
{
    char header[128];
    int hl = snprintf(header, sizeof header, "%s %s %zu", obj_type_name(type), ref,
                      utf16_length(payload, len));
    if (hl < 0 || (size_t)hl >= sizeof header)
        return -1;
    /* libdeflate at zlib's default level: the same ratio, without zlib's large state set up
     * for every object (most are a few hundred bytes) */
    size_t in_len = (size_t)hl + 1 + len;
    unsigned char *in = malloc(in_len);
    struct libdeflate_compressor *c = in ? get_compressor() : NULL;
    size_t bound = c ? libdeflate_zlib_compress_bound(c, in_len) : 0;
    int rc = -1;
    buf_reset(out);
    if (c && buf_reserve(out, bound)) {
        memcpy(in, header, (size_t)hl + 1); /* with the NUL */
        if (len)
            memcpy(in + hl + 1, payload, len);
        out->len = libdeflate_zlib_compress(c, in, in_len, out->data, bound);
        rc = out->len ? 0 : -1;
    }
    if (c)
        put_compressor(c);
    free(in);
    return rc;
}

static const char *json_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

bool obj_expected_ref(obj_type_t type, const json_t *json, const char *payload_sha1,
                      char out[REF_HEX])
{
    const char *name, *scope;
    switch (type) {
    case OBJ_SOURCE:
        memcpy(out, payload_sha1, REF_HEX);
        return true;
    case OBJ_COMPONENT:
        name = json_str(json, "name");
        scope = json_str(json, "scope");
        if (!name)
            return false;
        if (scope && *scope)
            sha1_hex3(scope, "/", name, out);
        else
            sha1_hex3(name, NULL, NULL, out);
        return true;
    case OBJ_SCOPEMETA:
        name = json_str(json, "name");
        if (!name)
            return false;
        sha1_hex3(name, NULL, NULL, out);
        return true;
    case OBJ_VERSIONHISTORY:
        name = json_str(json, "name");
        scope = json_str(json, "scope");
        if (!name || !scope)
            return false;
        {
            char id[1024];
            if ((size_t)snprintf(id, sizeof id, "%s/%s:VersionHistory", scope, name) >= sizeof id)
                return false;
            sha1_hex3(id, NULL, NULL, out);
        }
        return true;
    case OBJ_LANEHISTORY:
        name = json_str(json, "laneHash");
        if (!name)
            return false;
        sha1_hex3(name, ":LaneHistory", NULL, out);
        return true;
    case OBJ_EXPORTMETADATA:
        sha1_hex3("ExportMetadata", NULL, NULL, out);
        return true;
    default:
        return false;
    }
}
