/* jsonparse.c against jansson: the export reads Components and Versions with jsonp_load, which
 * must accept exactly what json_loadb(JSON_REJECT_DUPLICATES) accepts, as the same values. One
 * difference is allowed: jansson drops a raw NUL byte that follows a number or literal ("[0\0]"
 * reads as [0]), which jsonp_load refuses as the invalid JSON it is. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    char err[160];
    json_t *want = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    json_t *got = jsonp_load((const char *)data, size, err, sizeof err);
    bool nul = memchr(data, 0, size) != NULL;
    if (!want != !got && !(want && !got && nul))
        abort(); /* one accepts what the other refuses */
    if (!got && !err[0])
        abort(); /* a refusal says why */
    if (got && want) {
        if (!json_equal(want, got))
            abort();
        /* the same keys in the same order, and reals to the last bit */
        char *a = json_dumps(want, JSON_COMPACT | JSON_REAL_PRECISION(17));
        char *b = json_dumps(got, JSON_COMPACT | JSON_REAL_PRECISION(17));
        if (!a || !b || strcmp(a, b) != 0)
            abort();
        free(a);
        free(b);
    }
    json_decref(want);
    json_decref(got);
    return 0;
}
