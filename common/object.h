/* Bit objects: zlib("<Type> <ref> <size>\0<payload>") (protocol.md §6). */
#ifndef SCOPED_OBJECT_H
#define SCOPED_OBJECT_H

#include <nettle/sha1.h>
#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "buf.h"
#include "error.h"
#include "hash.h"

typedef enum {
    OBJ_UNKNOWN = 0,
    OBJ_COMPONENT,
    OBJ_VERSION,
    OBJ_SOURCE,
    OBJ_SCOPEMETA,
    OBJ_SYMLINK,
    OBJ_LANE,
    OBJ_EXPORTMETADATA,
    OBJ_VERSIONHISTORY,
    OBJ_LANEHISTORY,
} obj_type_t;

const char *obj_type_name(obj_type_t t);
obj_type_t obj_type_parse(const char *s, size_t len);
/* Types that clients without x-client-version do not know and must never receive. */
bool obj_type_modern_only(obj_type_t t);
/* Types whose payload is JSON the server reads. */
bool obj_type_is_json(obj_type_t t);

/* Incremental decoder: feed compressed bytes, get the header parsed, the payload sha1'd, and
 * (for JSON types, or when keep_payload is set) the payload kept, with the inflated size capped. */
typedef struct {
    z_stream zs;
    bool zinit;
    bool ended;
    uint64_t max_inflated;
    uint64_t inflated;
    char header[160];
    size_t hlen;
    bool header_done;
    obj_type_t type;
    char ref[REF_HEX];
    struct sha1_ctx sha;
    bool keep_payload;
    buf_t payload;
} obj_decoder_t;

/* A libdeflate decompressor and its output buffer, kept by a caller that decodes many objects
 * in a row (an upload, an export's plan). */
typedef struct {
    struct libdeflate_decompressor *dec;
    buf_t out;
} obj_scratch_t;
void obj_scratch_free(obj_scratch_t *z);

void obj_decoder_init(obj_decoder_t *d, uint64_t max_inflated);
/* Decodes a whole object at once with libdeflate (about three times zlib's speed here). 1 when
 * it cannot (too large for one buffer, or bytes libdeflate rejects): then feed the same bytes
 * to obj_decoder_feed, whose streaming zlib gives the exact error. */
int obj_decoder_whole(obj_decoder_t *d, obj_scratch_t *z, const unsigned char *data, size_t len,
                      err_t *err);
int obj_decoder_feed(obj_decoder_t *d, const unsigned char *data, size_t len, err_t *err);
/* Checks the stream ended and the header was whole. */
int obj_decoder_finish(obj_decoder_t *d, err_t *err);
void obj_decoder_free(obj_decoder_t *d);

/* One-shot decode of a stored object; payload is kept. */
int obj_decode(const unsigned char *data, size_t len, uint64_t max_inflated, obj_type_t *type,
               char ref[REF_HEX], buf_t *payload, err_t *err);
int obj_decode_with(obj_scratch_t *z, const unsigned char *data, size_t len, uint64_t max_inflated,
                    obj_type_t *type, char ref[REF_HEX], buf_t *payload, err_t *err);

/* Serializes an object as Bit does: header with the payload's UTF-16 length, zlib level 6. */
int obj_encode(obj_type_t type, const char *ref, const void *payload, size_t len, buf_t *out);

/* The ref Bit derives from a payload, for the types where it can be recomputed (§6.2).
 * Returns false when the type's ref is not derivable (Version, Lane). json is the parsed
 * payload for JSON types; payload_sha1 the sha1 of the raw payload. */
bool obj_expected_ref(obj_type_t type, const json_t *json, const char *payload_sha1,
                      char out[REF_HEX]);

/* Length of a UTF-8 string in UTF-16 code units, as JS's string.length counts. */
size_t utf16_length(const unsigned char *s, size_t len);

#endif
