#include "jsonparse.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *p, *end, *start;
    int depth;
    char *err;
    size_t errlen;
    char *tmp; /* decoded strings with escapes, numbers */
    size_t tmpcap;
    /* the keys of the objects being read, innermost last: a key waits here while its value
     * is read, so that nesting costs no stack beyond the recursion itself */
    char *keys;
    size_t keys_len, keys_cap;
} parser_t;

static json_t *fail(parser_t *s, const char *what)
{
    if (s->err && s->errlen && !s->err[0])
        snprintf(s->err, s->errlen, "%s near byte %zu", what, (size_t)(s->p - s->start));
    return NULL;
}

static void skip_ws(parser_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static bool reserve(parser_t *s, size_t n)
{
    if (n <= s->tmpcap)
        return true;
    size_t cap = s->tmpcap ? s->tmpcap : 256;
    while (cap < n)
        cap *= 2;
    char *t = realloc(s->tmp, cap);
    if (!t)
        return false;
    s->tmp = t;
    s->tmpcap = cap;
    return true;
}

/* One UTF-8 sequence at p (first byte >= 0x80), as jansson's utf8_check_full: its length, or 0
 * when invalid (overlong, surrogate, past U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) ||
        (n == 4 && v < 0x10000))
        return 0;
    return n;
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *out)
{
    if (end - p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, uint32_t v)
{
    if (v < 0x80) {
        o[0] = (char)v;
        return 1;
    }
    if (v < 0x800) {
        o[0] = (char)(0xC0 | (v >> 6));
        o[1] = (char)(0x80 | (v & 0x3F));
        return 2;
    }
    if (v < 0x10000) {
        o[0] = (char)(0xE0 | (v >> 12));
        o[1] = (char)(0x80 | ((v >> 6) & 0x3F));
        o[2] = (char)(0x80 | (v & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (v >> 18));
    o[1] = (char)(0x80 | ((v >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((v >> 6) & 0x3F));
    o[3] = (char)(0x80 | (v & 0x3F));
    return 4;
}

/* A string at s->p (just past the opening quote). Its bytes are *out (the input itself when it
 * has no escapes, else s->tmp), *len long; s->p ends past the closing quote. */
static int scan_string(parser_t *s, const char **out, size_t *len)
{
    const unsigned char *p = s->p, *end = s->end, *run = p;
    size_t o = 0;
    bool escaped = false;
    for (;;) {
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p >= end) {
            s->p = p;
            return fail(s, "premature end of input in a string"), -1;
        }
        unsigned c = *p;
        if (c == '"')
            break;
        if (c < 0x20) {
            s->p = p;
            return fail(s, "control character in a string"), -1;
        }
        if (c >= 0x80) {
            size_t n = utf8_len(p, end);
            if (!n) {
                s->p = p;
                return fail(s, "invalid UTF-8 in a string"), -1;
            }
            p += n;
            continue;
        }
        /* a backslash: from here on the string is built in s->tmp */
        if (!escaped) {
            escaped = true;
            o = 0;
        }
        size_t run_len = (size_t)(p - run);
        if (!reserve(s, o + run_len + 8))
            return fail(s, "out of memory"), -1;
        memcpy(s->tmp + o, run, run_len);
        o += run_len;
        if (end - p < 2) {
            s->p = p;
            return fail(s, "premature end of input in a string"), -1;
        }
        unsigned e = p[1];
        p += 2;
        switch (e) {
        case '"': s->tmp[o++] = '"'; break;
        case '\\': s->tmp[o++] = '\\'; break;
        case '/': s->tmp[o++] = '/'; break;
        case 'b': s->tmp[o++] = '\b'; break;
        case 'f': s->tmp[o++] = '\f'; break;
        case 'n': s->tmp[o++] = '\n'; break;
        case 'r': s->tmp[o++] = '\r'; break;
        case 't': s->tmp[o++] = '\t'; break;
        case 'u': {
            uint32_t v;
            if (hex4(p, end, &v) != 0) {
                s->p = p;
                return fail(s, "invalid \\u escape"), -1;
            }
            p += 4;
            if (v >= 0xD800 && v <= 0xDBFF) {
                uint32_t lo;
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) != 0 ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    s->p = p;
                    return fail(s, "invalid Unicode surrogate pair"), -1;
                }
                p += 6;
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            } else if (v >= 0xDC00 && v <= 0xDFFF) {
                s->p = p;
                return fail(s, "invalid Unicode low surrogate"), -1;
            } else if (v == 0) {
                s->p = p;
                return fail(s, "\\u0000 is not allowed"), -1;
            }
            o += put_utf8(s->tmp + o, v);
            break;
        }
        default:
            s->p = p;
            return fail(s, "invalid escape"), -1;
        }
        run = p;
    }
    if (escaped) {
        size_t run_len = (size_t)(p - run);
        if (!reserve(s, o + run_len + 1))
            return fail(s, "out of memory"), -1;
        memcpy(s->tmp + o, run, run_len);
        o += run_len;
        s->tmp[o] = 0;
        *out = s->tmp;
        *len = o;
    } else {
        *out = (const char *)s->p;
        *len = (size_t)(p - s->p);
    }
    s->p = p + 1;
    return 0;
}

static bool is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

/* A number as jansson lexes it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; an integer
 * unless it has a fraction or exponent, and out of range is an error (an overflowing real
 * too; one that underflows reads as what strtod gives). */
static json_t *parse_number(parser_t *s)
{
    const unsigned char *p = s->p, *end = s->end, *b = p;
    bool real = false;
    if (p < end && *p == '-')
        p++;
    if (p >= end || !is_digit(*p))
        return fail(s, "invalid number");
    if (*p == '0') {
        p++;
        if (p < end && is_digit(*p))
            return fail(s, "invalid number");
    } else {
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && *p == '.') {
        real = true;
        p++;
        if (p >= end || !is_digit(*p))
            return fail(s, "invalid number");
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return fail(s, "invalid number");
        while (p < end && is_digit(*p))
            p++;
    }
    size_t n = (size_t)(p - b);
    if (!reserve(s, n + 1))
        return fail(s, "out of memory");
    memcpy(s->tmp, b, n);
    s->tmp[n] = 0;
    char *stop;
    errno = 0;
    json_t *v;
    if (!real) {
        long long i = strtoll(s->tmp, &stop, 10);
        if (errno == ERANGE)
            return fail(s, "integer out of range");
        v = json_integer(i);
    } else {
        double d = strtod(s->tmp, &stop);
        if (errno == ERANGE && (d > 1.0 || d < -1.0))
            return fail(s, "real number overflow");
        v = json_real(d);
    }
    if (!v)
        return fail(s, "out of memory");
    s->p = p;
    return v;
}

static json_t *parse_value(parser_t *s);

/* After an array's value or an object's member: 1 when a ',' says another follows, 0 when
 * close ends the container, -1 on anything else. */
static int after_member(parser_t *s, char close)
{
    skip_ws(s);
    if (s->p < s->end && *s->p == ',') {
        s->p++;
        skip_ws(s);
        return 1;
    }
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    fail(s, close == ']' ? "',' or ']' expected" : "',' or '}' expected");
    return -1;
}

static json_t *parse_array(parser_t *s)
{
    json_t *a = json_array();
    if (!a)
        return fail(s, "out of memory");
    s->p++; /* [ */
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return a;
    }
    for (;;) {
        json_t *v = parse_value(s);
        if (!v || json_array_append_new(a, v) != 0)
            goto bad;
        int more = after_member(s, ']');
        if (more < 0)
            goto bad;
        if (!more)
            return a;
    }
bad:
    json_decref(a);
    return NULL;
}

static bool push_key(parser_t *s, const char *k, size_t klen)
{
    size_t need = s->keys_len + klen + 1;
    if (need > s->keys_cap) {
        size_t cap = s->keys_cap ? s->keys_cap : 256;
        while (cap < need)
            cap *= 2;
        char *p = realloc(s->keys, cap);
        if (!p)
            return false;
        s->keys = p;
        s->keys_cap = cap;
    }
    memcpy(s->keys + s->keys_len, k, klen);
    s->keys[s->keys_len + klen] = 0;
    s->keys_len = need;
    return true;
}

static json_t *parse_object(parser_t *s)
{
    json_t *o = json_object();
    if (!o)
        return fail(s, "out of memory");
    s->p++; /* { */
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return o;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"') {
            fail(s, "string or '}' expected");
            goto bad;
        }
        s->p++;
        const char *k;
        size_t klen;
        if (scan_string(s, &k, &klen) != 0)
            goto bad;
        /* NUL-terminated for jansson, and kept apart: s->tmp is reused by the value */
        size_t at = s->keys_len;
        if (!push_key(s, k, klen)) {
            fail(s, "out of memory");
            goto bad;
        }
        skip_ws(s);
        json_t *v = NULL;
        if (s->p >= s->end || *s->p != ':') {
            fail(s, "':' expected");
        } else {
            s->p++;
            skip_ws(s);
            v = parse_value(s);
        }
        size_t before = json_object_size(o);
        int rc = v ? json_object_set_new_nocheck(o, s->keys + at, v) : -1;
        s->keys_len = at;
        if (rc != 0)
            goto bad;
        if (json_object_size(o) == before) {
            fail(s, "duplicate object key");
            goto bad;
        }
        int more = after_member(s, '}');
        if (more < 0)
            goto bad;
        if (!more)
            return o;
    }
bad:
    json_decref(o);
    return NULL;
}

static json_t *literal(parser_t *s, const char *word, size_t n, json_t *v)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "invalid token");
    s->p += n;
    return v;
}

static json_t *parse_value(parser_t *s)
{
    if (++s->depth > JSONP_MAX_DEPTH)
        return fail(s, "maximum parsing depth reached");
    json_t *v = NULL;
    if (s->p >= s->end)
        return fail(s, "premature end of input");
    switch (*s->p) {
    case '{': v = parse_object(s); break;
    case '[': v = parse_array(s); break;
    case '"': {
        s->p++;
        const char *str;
        size_t len;
        if (scan_string(s, &str, &len) == 0 && !(v = json_stringn_nocheck(str, len)))
            fail(s, "out of memory");
        break;
    }
    case 't': v = literal(s, "true", 4, json_true()); break;
    case 'f': v = literal(s, "false", 5, json_false()); break;
    case 'n': v = literal(s, "null", 4, json_null()); break;
    default: v = parse_number(s); break;
    }
    s->depth--;
    return v;
}

json_t *jsonp_load(const char *buf, size_t len, char *err, size_t errlen)
{
    if (!buf) /* an empty payload's buffer may be NULL */
        buf = "", len = 0;
    parser_t s = {(const unsigned char *)buf, (const unsigned char *)buf + len,
                  (const unsigned char *)buf, 0, err, errlen, NULL, 0, NULL, 0, 0};
    if (err && errlen)
        err[0] = 0;
    skip_ws(&s);
    json_t *v = NULL;
    if (s.p >= s.end || (*s.p != '{' && *s.p != '[')) {
        fail(&s, "'[' or '{' expected");
    } else {
        v = parse_value(&s);
        skip_ws(&s);
        if (v && s.p != s.end) {
            json_decref(v);
            v = fail(&s, "end of input expected");
        }
    }
    free(s.tmp);
    free(s.keys);
    return v;
}
