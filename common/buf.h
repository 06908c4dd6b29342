/* Growable byte buffer and small string helpers shared by every module. */
#ifndef SCOPED_BUF_H
#define SCOPED_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    unsigned char *data;
    size_t len;
    size_t cap;
} buf_t;

void buf_init(buf_t *b);
void buf_free(buf_t *b);
void buf_reset(buf_t *b);
/* All appenders return false only when memory runs out; the buffer is then unchanged. */
bool buf_reserve(buf_t *b, size_t extra);
bool buf_append(buf_t *b, const void *data, size_t len);
bool buf_append_str(buf_t *b, const char *s);
bool buf_append_byte(buf_t *b, unsigned char c);
bool buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminates without counting the NUL in len; returns data as a C string. */
const char *buf_cstr(buf_t *b);

void hex_encode(const unsigned char *in, size_t len, char *out);
bool hex_decode(const char *in, size_t hexlen, unsigned char *out);
/* A Bit object ref: exactly 40 lowercase hex characters. */
bool is_ref40(const char *s, size_t len);
bool is_hex(const char *s, size_t len);

#endif
