/* The two hashes scoped needs: SHA-1 for Bit refs, BLAKE2b-256 for blob names. */
#ifndef SCOPED_HASH_H
#define SCOPED_HASH_H

#include <nettle/sha1.h>
#include <sodium.h>
#include <stddef.h>

#define REF_HEX 41  /* 40 hex + NUL */
#define BLOB_HEX 65 /* 64 hex + NUL */

void sha1_hex(const void *data, size_t len, char out[REF_HEX]);
/* sha1 of the concatenation a + b (e.g. scope "/" name) without building it */
void sha1_hex3(const char *a, const char *b, const char *c, char out[REF_HEX]);
void sha1_ctx_hex(struct sha1_ctx *ctx, char out[REF_HEX]);

#endif
