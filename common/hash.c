#include "hash.h"

#include <string.h>

#include "buf.h"

void sha1_ctx_hex(struct sha1_ctx *ctx, char out[REF_HEX])
{
    unsigned char d[SHA1_DIGEST_SIZE];
    sha1_digest(ctx, sizeof d, d);
    hex_encode(d, sizeof d, out);
}

void sha1_hex(const void *data, size_t len, char out[REF_HEX])
{
    struct sha1_ctx ctx;
    sha1_init(&ctx);
    sha1_update(&ctx, len, data);
    sha1_ctx_hex(&ctx, out);
}

void sha1_hex3(const char *a, const char *b, const char *c, char out[REF_HEX])
{
    struct sha1_ctx ctx;
    sha1_init(&ctx);
    sha1_update(&ctx, strlen(a), (const uint8_t *)a);
    if (b)
        sha1_update(&ctx, strlen(b), (const uint8_t *)b);
    if (c)
        sha1_update(&ctx, strlen(c), (const uint8_t *)c);
    sha1_ctx_hex(&ctx, out);
}
