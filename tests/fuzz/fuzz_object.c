/* The object codec: inflate with its cap, the "<Type> <ref> <size>" header, and the JSON of
 * Components and Versions as the export reads them. The first byte picks the mode: odd bytes
 * deflate the rest first, so that the fuzzer reaches the header and JSON through valid zlib. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "jsonparse.h"
#include "model.h"
#include "object.h"

#define CAP (1u << 20)

static void read_object(const unsigned char *z, size_t zlen, size_t chunk)
{
    obj_decoder_t d;
    err_t err;
    err_init(&err);
    obj_decoder_init(&d, CAP);
    int rc = 0;
    for (size_t off = 0; off < zlen && rc == 0; off += chunk) {
        size_t n = zlen - off < chunk ? zlen - off : chunk;
        rc = obj_decoder_feed(&d, z + off, n, &err);
    }
    if (rc == 0)
        rc = obj_decoder_finish(&d, &err);
    if (rc != 0 && (err.kind == ERR_NONE || !err.msg[0]))
        abort();
    if (d.inflated > CAP + 16384)
        abort(); /* the cap holds within one inflate window */
    if (rc == 0) {
        char sha[REF_HEX], expect[REF_HEX];
        sha1_ctx_hex(&d.sha, sha);
        json_t *json = NULL;
        if (obj_type_is_json(d.type)) {
            char why[160];
            json = jsonp_load((const char *)d.payload.data, d.payload.len, why, sizeof why);
            if (!json_is_object(json)) {
                json_decref(json);
                json = NULL;
            }
        }
        if (json && d.type == OBJ_COMPONENT) {
            component_info_t ci;
            if (component_info_parse(json, &ci, &err) == 0) {
                char latest[256];
                component_latest(&ci, latest, sizeof latest);
                if (ci.head)
                    (void)component_tag_of(&ci, ci.head);
            }
        } else if (json && d.type == OBJ_VERSION) {
            version_info_t vi;
            if (version_info_parse(json, &vi, &err) == 0) {
                for (size_t i = 0; i < vi.ndeps; i++)
                    if (semver_valid(vi.deps[i].version))
                        (void)semver_cmp(vi.deps[i].version, "1.0.0");
            }
            version_info_free(&vi);
        }
        if (json || !obj_type_is_json(d.type))
            (void)obj_expected_ref(d.type, json, sha, expect);
        json_decref(json);
    }
    err_clear(&err);

    /* one-shot decoding (libdeflate over the whole buffer, zlib when that cannot) agrees with
     * streaming zlib: both fail, or both give the same type, ref and payload */
    obj_type_t type;
    char ref[REF_HEX];
    buf_t payload;
    buf_init(&payload);
    err_init(&err);
    int whole = obj_decode(z, zlen, CAP, &type, ref, &payload, &err);
    if ((whole == 0) != (rc == 0))
        abort();
    if (rc == 0 && obj_type_is_json(d.type) &&
        (type != d.type || strcmp(ref, d.ref) != 0 || payload.len != d.payload.len ||
         (payload.len && memcmp(payload.data, d.payload.data, payload.len) != 0)))
        abort();
    obj_decoder_free(&d);
    buf_free(&payload);
    err_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    data++, size--;
    size_t chunk = (mode >> 1) ? (mode >> 1) * 13u : size + 1;
    if (!(mode & 1)) {
        read_object(data, size, chunk);
        return 0;
    }
    uLongf zlen = compressBound((uLong)size);
    unsigned char *z = malloc(zlen ? zlen : 1);
    if (!z || compress2(z, &zlen, data, (uLong)size, 1) != Z_OK) {
        free(z);
        return 0;
    }
    read_object(z, zlen, chunk);
    free(z);
    return 0;
}
