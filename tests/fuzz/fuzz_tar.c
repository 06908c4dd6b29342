/* The tar reader of put bodies: any bytes, fed in chunks of any size, end in TAR_OK or an
 * error with a message, and the contents handed out add up to the sizes announced. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tar.h"

typedef struct {
    uint64_t size, got;
    int open;
} fz_tar_t;

static int on_begin(void *ctx, const char *name, uint64_t size)
{
    fz_tar_t *t = ctx;
    if (t->open || !name[0] || strlen(name) > 255)
        abort();
    t->open = 1;
    t->size = size;
    t->got = 0;
    return 0;
}

static int on_data(void *ctx, const unsigned char *data, size_t len)
{
    fz_tar_t *t = ctx;
    if (!t->open || len == 0 || t->got + len > t->size)
        abort();
    volatile unsigned char sink = data[0] ^ data[len - 1];
    (void)sink;
    t->got += len;
    return 0;
}

static int on_end(void *ctx)
{
    fz_tar_t *t = ctx;
    if (!t->open || t->got != t->size)
        abort();
    t->open = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* the first byte picks the chunk size, as the network would */
    size_t chunk = data[0] ? data[0] * 7u : size;
    data++, size--;
    static const tar_callbacks_t cb = {on_begin, on_data, on_end};
    tar_limits_t lim = {.max_entry_size = 1 << 20, .max_pax_size = 4096, .max_name_len = 255};
    fz_tar_t t = {0};
    tar_reader_t *r = tar_reader_new(&cb, &t, &lim);
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = tar_reader_feed(r, data + off, n);
    }
    if (rc == 0)
        rc = tar_reader_finish(r);
    if (rc != 0 && !tar_reader_error(r)[0])
        abort(); /* every error says what it is */
    if (rc != 0 && tar_reader_feed(r, data, size) != rc)
        abort(); /* errors are sticky */
    tar_reader_free(r);
    return 0;
}
