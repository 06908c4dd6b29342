#include "tar.h"

#include "buf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ustar header layout (POSIX.1-1988, with the GNU and PAX extensions we accept). */
enum {
    TAR_NAME = 0, TAR_NAME_LEN = 100,
    TAR_MODE = 100,
    TAR_UID = 108,
    TAR_GID = 116,
    TAR_SIZE = 124, TAR_SIZE_LEN = 12,
    TAR_MTIME = 136, TAR_MTIME_LEN = 12,
    TAR_CHKSUM = 148, TAR_CHKSUM_LEN = 8,
    TAR_TYPEFLAG = 156,
    TAR_MAGIC = 257, /* 6 bytes of magic and 2 of version, compared together */
    TAR_DEVMAJOR = 329,
    TAR_DEVMINOR = 337,
    TAR_PREFIX = 345, TAR_PREFIX_LEN = 155,
};

enum tar_state {
    TAR_ST_HEADER,  /* collecting a 512-byte header block */
    TAR_ST_DATA,    /* passing an entry's content to entry_data */
    TAR_ST_EXT,     /* collecting the body of an 'x', 'g' or 'L' header */
    TAR_ST_PAD,     /* skipping the zeros up to the next block boundary */
    TAR_ST_END,     /* after the end-of-archive marker: only zeros may follow */
    TAR_ST_ERROR,
};

/* Where the name of the next entry comes from; a PAX path beats a GNU long name. */
enum tar_name_src { TAR_NAME_HEADER, TAR_NAME_GNU, TAR_NAME_PAX };

struct tar_reader {
    tar_callbacks_t cb;
    void *ctx;
    tar_limits_t lim;
    enum tar_state state;
    int err;
    unsigned char block[TAR_BLOCK];
    size_t block_len;
    uint64_t remaining; /* content or extended-header bytes still to come */
    uint64_t pad;
    uint64_t entry_size;
    uint64_t offset;     /* body bytes consumed so far */
    uint64_t hdr_offset; /* where the last header began, for messages */
    uint64_t entries;
    unsigned char ext_type;
    buf_t ext;
    /* What 'x' and 'L' headers say about the entry that follows them. */
    bool ext_pending;
    enum tar_name_src name_src;
    buf_t next_name;
    bool has_next_size;
    uint64_t next_size;
    char msg[192];
};

static const char *const tar_magic_ustar = "ustar\0" "00";
static const char *const tar_magic_gnu = "ustar  \0";

static const struct {
    unsigned char flag;
    const char *what;
} tar_type_names[] = {
    {'1', "hard link"},      {'2', "symbolic link"},   {'3', "character device"},
    {'4', "block device"},   {'5', "directory"},       {'6', "FIFO"},
    {'7', "contiguous file"}, {'D', "GNU dump directory"}, {'K', "GNU long link name"},
    {'M', "GNU multi-volume part"}, {'S', "GNU sparse file"}, {'V', "volume label"},
};

__attribute__((format(printf, 3, 4))) static int tar_fail(tar_reader_t *r, int code,
                                                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->err = code;
    r->state = TAR_ST_ERROR;
    return code;
}

static int tar_abort(tar_reader_t *r, int rc)
{
    return tar_fail(r, rc, "tar reading stopped by the receiver (%d) at offset %" PRIu64, rc,
                    r->offset);
}

tar_reader_t *tar_reader_new(const tar_callbacks_t *cb, void *ctx, const tar_limits_t *lim)
{
    tar_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (cb)
        r->cb = *cb;
    r->ctx = ctx;
    if (lim)
        r->lim = *lim;
    if (!r->lim.max_entry_size)
        r->lim.max_entry_size = TAR_DEFAULT_MAX_ENTRY_SIZE;
    if (!r->lim.max_pax_size)
        r->lim.max_pax_size = TAR_DEFAULT_MAX_PAX_SIZE;
    if (!r->lim.max_name_len)
        r->lim.max_name_len = TAR_DEFAULT_MAX_NAME_LEN;
    r->state = TAR_ST_HEADER;
    buf_init(&r->ext);
    buf_init(&r->next_name);
    return r;
}

void tar_reader_free(tar_reader_t *r)
{
    if (!r)
        return;
    buf_free(&r->ext);
    buf_free(&r->next_name);
    free(r);
}

const char *tar_reader_error(const tar_reader_t *r)
{
    return r->msg;
}

uint64_t tar_reader_entries(const tar_reader_t *r)
{
    return r->entries;
}

size_t tar_padding(uint64_t size)
{
    return (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK);
}

/* Octal as writers emit it: leading spaces, digits, then only spaces or NULs. */
static bool tar_parse_octal(const unsigned char *f, size_t n, uint64_t *out)
{
    size_t i = 0;
    while (i < n && f[i] == ' ')
        i++;
    size_t start = i;
    uint64_t v = 0;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v > UINT64_MAX >> 3)
            return false;
        v = v << 3 | (uint64_t)(f[i] - '0');
    }
    if (i == start)
        return false;
    for (; i < n; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return false;
    *out = v;
    return true;
}

/* A numeric field: octal, or GNU base-256 (high bit set, big-endian two's complement). */
static bool tar_parse_number(const unsigned char *f, size_t n, uint64_t *out)
{
    if (!(f[0] & 0x80))
        return tar_parse_octal(f, n, out);
    if (f[0] & 0x40)
        return false; /* negative */
    uint64_t v = f[0] & 0x3f;
    for (size_t i = 1; i < n; i++) {
        if (v > UINT64_MAX >> 8)
            return false;
        v = v << 8 | f[i];
    }
    *out = v;
    return true;
}

static bool tar_is_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* GNU tar accepts the sum taken over signed chars too, as some old writers produced it. */
static bool tar_checksum_ok(const unsigned char *h)
{
    uint64_t want;
    if (!tar_parse_octal(h + TAR_CHKSUM, TAR_CHKSUM_LEN, &want))
        return false;
    long long usum = 0, ssum = 0;
    for (size_t i = 0; i < TAR_BLOCK; i++) {
        bool in_field = i >= TAR_CHKSUM && i < TAR_CHKSUM + TAR_CHKSUM_LEN;
        unsigned char c = in_field ? ' ' : h[i];
        usum += c;
        ssum += (signed char)c;
    }
    return (long long)want == usum || (long long)want == ssum;
}

static size_t tar_field_len(const unsigned char *f, size_t n)
{
    const unsigned char *nul = memchr(f, '\0', n);
    return nul ? (size_t)(nul - f) : n;
}

static const char *tar_type_name(unsigned char flag)
{
    for (size_t i = 0; i < sizeof tar_type_names / sizeof tar_type_names[0]; i++)
        if (tar_type_names[i].flag == flag)
            return tar_type_names[i].what;
    return "unknown type";
}

static void tar_clear_pending(tar_reader_t *r)
{
    r->ext_pending = false;
    r->name_src = TAR_NAME_HEADER;
    r->has_next_size = false;
    buf_reset(&r->next_name);
}

static int tar_set_next_name(tar_reader_t *r, const unsigned char *name, size_t len,
                             enum tar_name_src src)
{
    if (len > r->lim.max_name_len)
        return tar_fail(r, TAR_ERR_LIMIT,
                        "tar entry name of %zu bytes exceeds the limit of %zu (header at offset "
                        "%" PRIu64 ")",
                        len, r->lim.max_name_len, r->hdr_offset);
    buf_reset(&r->next_name);
    if (!buf_append(&r->next_name, name, len))
        return tar_fail(r, TAR_ERR_LIMIT, "out of memory reading tar header at offset %" PRIu64,
                        r->hdr_offset);
    r->name_src = src;
    return TAR_OK;
}

static int tar_pax_apply(tar_reader_t *r, const unsigned char *key, size_t klen,
                         const unsigned char *val, size_t vlen)
{
    /* An empty value cancels the record, so the header field applies again. */
    if (klen == 4 && memcmp(key, "path", 4) == 0) {
        if (vlen == 0) {
            if (r->name_src == TAR_NAME_PAX) {
                r->name_src = TAR_NAME_HEADER;
                buf_reset(&r->next_name);
            }
            return TAR_OK;
        }
        if (memchr(val, '\0', vlen))
            return tar_fail(r, TAR_ERR_FORMAT,
                            "NUL byte in PAX path at offset %" PRIu64, r->hdr_offset);
        return tar_set_next_name(r, val, vlen, TAR_NAME_PAX);
    }
    if (klen == 4 && memcmp(key, "size", 4) == 0) {
        r->has_next_size = false;
        if (vlen == 0)
            return TAR_OK;
        uint64_t v = 0;
        for (size_t i = 0; i < vlen; i++) {
            if (val[i] < '0' || val[i] > '9' || v > (UINT64_MAX - 9) / 10)
                return tar_fail(r, TAR_ERR_FORMAT,
                                "bad PAX size value in header at offset %" PRIu64,
                                r->hdr_offset);
            v = v * 10 + (uint64_t)(val[i] - '0');
        }
        r->next_size = v;
        r->has_next_size = true;
    }
    return TAR_OK;
}

/* Records are "LEN key=value\n" where LEN counts the whole record; nothing else may appear. */
static int tar_pax_parse(tar_reader_t *r, bool apply)
{
    const unsigned char *p = r->ext.data;
    size_t left = r->ext.len;
    while (left > 0) {
        size_t len = 0, i = 0;
        for (; i < left && p[i] >= '0' && p[i] <= '9' && len <= left; i++) {
            if (len > (SIZE_MAX - 9) / 10)
                break;
            len = len * 10 + (size_t)(p[i] - '0');
        }
        /* The shortest record is "LEN k=\n". */
        if (i == 0 || len > left || i >= left || p[i] != ' ' || len < i + 4 ||
            p[len - 1] != '\n')
            return tar_fail(r, TAR_ERR_FORMAT,
                            "bad PAX record length in header at offset %" PRIu64,
                            r->hdr_offset);
        const unsigned char *key = p + i + 1;
        size_t kvlen = len - i - 2;
        const unsigned char *eq = memchr(key, '=', kvlen);
        if (!eq || eq == key || memchr(key, '\0', (size_t)(eq - key)))
            return tar_fail(r, TAR_ERR_FORMAT,
                            "bad PAX record key in header at offset %" PRIu64, r->hdr_offset);
        size_t klen = (size_t)(eq - key);
        if (apply) {
            int rc = tar_pax_apply(r, key, klen, eq + 1, kvlen - klen - 1);
            if (rc)
                return rc;
        }
        p += len;
        left -= len;
    }
    return TAR_OK;
}

static void tar_after(tar_reader_t *r, uint64_t size)
{
    r->pad = tar_padding(size);
    r->state = r->pad ? TAR_ST_PAD : TAR_ST_HEADER;
}

static int tar_ext_done(tar_reader_t *r)
{
    int rc = TAR_OK;
    if (r->ext_type == 'L') {
        /* GNU writes the name NUL-terminated; the NUL is part of the body size. */
        size_t len = tar_field_len(r->ext.data, r->ext.len);
        if (len == 0)
            return tar_fail(r, TAR_ERR_FORMAT, "empty GNU long name at offset %" PRIu64,
                            r->hdr_offset);
        if (r->name_src != TAR_NAME_PAX)
            rc = tar_set_next_name(r, r->ext.data, len, TAR_NAME_GNU);
        r->ext_pending = true;
    } else {
        rc = tar_pax_parse(r, r->ext_type == 'x');
        if (r->ext_type == 'x')
            r->ext_pending = true;
    }
    if (rc)
        return rc;
    tar_after(r, r->ext.len);
    buf_reset(&r->ext);
    return TAR_OK;
}

static int tar_entry_done(tar_reader_t *r)
{
    r->entries++;
    if (r->cb.entry_end) {
        int rc = r->cb.entry_end(r->ctx);
        if (rc)
            return tar_abort(r, rc);
    }
    tar_after(r, r->entry_size);
    return TAR_OK;
}

static int tar_begin_ext(tar_reader_t *r, unsigned char type, uint64_t size)
{
    if (type == 'L') {
        if (size > (uint64_t)r->lim.max_name_len + 1)
            return tar_fail(r, TAR_ERR_LIMIT,
                            "GNU long name of %" PRIu64 " bytes at offset %" PRIu64
                            " exceeds the limit of %zu",
                            size, r->hdr_offset, r->lim.max_name_len);
    } else if (size > r->lim.max_pax_size) {
        return tar_fail(r, TAR_ERR_LIMIT,
                        "PAX header of %" PRIu64 " bytes at offset %" PRIu64
                        " exceeds the limit of %zu",
                        size, r->hdr_offset, r->lim.max_pax_size);
    }
    buf_reset(&r->ext);
    if (!buf_reserve(&r->ext, (size_t)size))
        return tar_fail(r, TAR_ERR_LIMIT, "out of memory reading tar header at offset %" PRIu64,
                        r->hdr_offset);
    r->ext_type = type;
    r->remaining = size;
    r->state = TAR_ST_EXT;
    return size ? TAR_OK : tar_ext_done(r);
}

static int tar_begin_entry(tar_reader_t *r, const unsigned char *h, uint64_t size)
{
    if (r->has_next_size)
        size = r->next_size;
    if (size > r->lim.max_entry_size)
        return tar_fail(r, TAR_ERR_LIMIT,
                        "tar entry of %" PRIu64 " bytes at offset %" PRIu64
                        " exceeds the limit of %" PRIu64,
                        size, r->hdr_offset, r->lim.max_entry_size);

    char hname[TAR_PREFIX_LEN + 1 + TAR_NAME_LEN + 1];
    const char *name = hname;
    size_t len;
    if (r->name_src != TAR_NAME_HEADER) {
        name = buf_cstr(&r->next_name);
        len = r->next_name.len;
    } else {
        /* GNU headers keep atime/ctime where ustar has the prefix. */
        size_t plen = memcmp(h + TAR_MAGIC, tar_magic_ustar, 8) == 0
                          ? tar_field_len(h + TAR_PREFIX, TAR_PREFIX_LEN)
                          : 0;
        size_t nlen = tar_field_len(h + TAR_NAME, TAR_NAME_LEN);
        len = 0;
        if (plen) {
            memcpy(hname, h + TAR_PREFIX, plen);
            hname[plen] = '/';
            len = plen + 1;
        }
        memcpy(hname + len, h + TAR_NAME, nlen);
        len += nlen;
        hname[len] = '\0';
        if (len > r->lim.max_name_len)
            return tar_fail(r, TAR_ERR_LIMIT,
                            "tar entry name of %zu bytes at offset %" PRIu64
                            " exceeds the limit of %zu",
                            len, r->hdr_offset, r->lim.max_name_len);
    }
    if (len == 0)
        return tar_fail(r, TAR_ERR_FORMAT, "tar entry without a name at offset %" PRIu64,
                        r->hdr_offset);
    if (r->cb.entry_begin) {
        int rc = r->cb.entry_begin(r->ctx, name, size);
        if (rc)
            return tar_abort(r, rc);
    }
    tar_clear_pending(r);
    r->entry_size = size;
    r->remaining = size;
    r->state = TAR_ST_DATA;
    return size ? TAR_OK : tar_entry_done(r);
}

static int tar_header(tar_reader_t *r)
{
    const unsigned char *h = r->block;
    r->hdr_offset = r->offset - TAR_BLOCK;
    if (tar_is_zero(h, TAR_BLOCK)) {
        if (r->ext_pending)
            return tar_fail(r, TAR_ERR_FORMAT,
                            "tar extended header is not followed by an entry (end marker at "
                            "offset %" PRIu64 ")",
                            r->hdr_offset);
        r->state = TAR_ST_END;
        return TAR_OK;
    }
    if (!tar_checksum_ok(h))
        return tar_fail(r, TAR_ERR_FORMAT, "tar header checksum mismatch at offset %" PRIu64,
                        r->hdr_offset);
    if (memcmp(h + TAR_MAGIC, tar_magic_ustar, 8) != 0 &&
        memcmp(h + TAR_MAGIC, tar_magic_gnu, 8) != 0)
        return tar_fail(r, TAR_ERR_FORMAT, "tar header at offset %" PRIu64 " is not ustar",
                        r->hdr_offset);
    uint64_t size;
    if (!tar_parse_number(h + TAR_SIZE, TAR_SIZE_LEN, &size))
        return tar_fail(r, TAR_ERR_FORMAT, "bad size field in tar header at offset %" PRIu64,
                        r->hdr_offset);
    unsigned char type = h[TAR_TYPEFLAG];
    switch (type) {
    case '0':
    case '\0':
        return tar_begin_entry(r, h, size);
    case 'x':
    case 'g':
    case 'L':
        return tar_begin_ext(r, type, size);
    default:
        return tar_fail(r, TAR_ERR_FORMAT,
                        "tar entry at offset %" PRIu64 " has type %s (0x%02x); only regular "
                        "files are accepted",
                        r->hdr_offset, tar_type_name(type), type);
    }
}

int tar_reader_feed(tar_reader_t *r, const unsigned char *data, size_t len)
{
    if (r->state == TAR_ST_ERROR)
        return r->err;
    size_t i = 0;
    while (i < len) {
        size_t avail = len - i, n;
        int rc = TAR_OK;
        switch (r->state) {
        case TAR_ST_HEADER:
            n = TAR_BLOCK - r->block_len;
            if (n > avail)
                n = avail;
            memcpy(r->block + r->block_len, data + i, n);
            r->block_len += n;
            r->offset += n;
            if (r->block_len == TAR_BLOCK) {
                r->block_len = 0;
                rc = tar_header(r);
            }
            break;
        case TAR_ST_DATA:
            n = r->remaining < avail ? (size_t)r->remaining : avail;
            r->offset += n;
            r->remaining -= n;
            if (r->cb.entry_data) {
                rc = r->cb.entry_data(r->ctx, data + i, n);
                if (rc)
                    rc = tar_abort(r, rc);
            }
            if (!rc && r->remaining == 0)
                rc = tar_entry_done(r);
            break;
        case TAR_ST_EXT:
            n = r->remaining < avail ? (size_t)r->remaining : avail;
            buf_append(&r->ext, data + i, n); /* cannot fail: reserved in tar_begin_ext */
            r->offset += n;
            r->remaining -= n;
            if (r->remaining == 0)
                rc = tar_ext_done(r);
            break;
        case TAR_ST_PAD:
            n = r->pad < avail ? (size_t)r->pad : avail;
            r->offset += n;
            r->pad -= n;
            if (r->pad == 0)
                r->state = TAR_ST_HEADER;
            break;
        case TAR_ST_END:
            for (n = 0; n < avail; n++)
                if (data[i + n])
                    return tar_fail(r, TAR_ERR_FORMAT,
                                    "data after the tar end-of-archive marker at offset "
                                    "%" PRIu64,
                                    r->offset + n);
            r->offset += n;
            break;
        case TAR_ST_ERROR:
        default:
            return r->err;
        }
        if (rc)
            return rc;
        i += n;
    }
    return TAR_OK;
}

int tar_reader_finish(tar_reader_t *r)
{
    const char *where;
    switch (r->state) {
    case TAR_ST_END:
        return TAR_OK;
    case TAR_ST_ERROR:
        return r->err;
    case TAR_ST_HEADER:
        where = r->block_len ? "inside a header" : "before the end-of-archive marker";
        break;
    case TAR_ST_DATA:
        where = "inside an entry";
        break;
    case TAR_ST_EXT:
        where = "inside an extended header";
        break;
    case TAR_ST_PAD:
    default:
        where = "inside padding";
        break;
    }
    return tar_fail(r, TAR_ERR_TRUNCATED, "tar archive truncated %s at offset %" PRIu64, where,
                    r->offset);
}

/* width-1 zero-padded octal digits and a NUL; v must fit. */
static void tar_put_octal(unsigned char *f, size_t width, uint64_t v)
{
    f[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0; v >>= 3)
        f[i] = (unsigned char)('0' + (v & 7));
}

static void tar_put_name(unsigned char *h, const char *name)
{
    size_t len = strlen(name);
    if (len > TAR_NAME_LEN) {
        /* Split at the first '/' that leaves a name part of at most 100 bytes. */
        for (size_t cut = len - TAR_NAME_LEN - 1; cut + 1 < len && cut <= TAR_PREFIX_LEN; cut++) {
            if (name[cut] == '/' && cut > 0) {
                memcpy(h + TAR_PREFIX, name, cut);
                memcpy(h + TAR_NAME, name + cut + 1, len - cut - 1);
                return;
            }
        }
        len = TAR_NAME_LEN;
    }
    memcpy(h + TAR_NAME, name, len);
}

void tar_header_write(unsigned char out[TAR_BLOCK], const char *name, uint64_t size,
                      long long mtime)
{
    const uint64_t octal11_max = ((uint64_t)1 << 33) - 1;
    memset(out, 0, TAR_BLOCK);
    tar_put_name(out, name);
    memcpy(out + TAR_MODE, "0000644", 8);
    memcpy(out + TAR_UID, "0000000", 8);
    memcpy(out + TAR_GID, "0000000", 8);
    if (size <= octal11_max) {
        tar_put_octal(out + TAR_SIZE, TAR_SIZE_LEN, size);
    } else {
        out[TAR_SIZE] = 0x80;
        for (size_t i = TAR_SIZE_LEN - 1; i > 0; i--, size >>= 8)
            out[TAR_SIZE + i] = (unsigned char)(size & 0xff);
    }
    uint64_t mt = mtime < 0 ? 0 : (uint64_t)mtime;
    tar_put_octal(out + TAR_MTIME, TAR_MTIME_LEN, mt > octal11_max ? octal11_max : mt);
    out[TAR_TYPEFLAG] = '0';
    memcpy(out + TAR_MAGIC, tar_magic_ustar, 8);
    memcpy(out + TAR_DEVMAJOR, "0000000", 8);
    memcpy(out + TAR_DEVMINOR, "0000000", 8);

    unsigned sum = 0;
    memset(out + TAR_CHKSUM, ' ', TAR_CHKSUM_LEN);
    for (size_t i = 0; i < TAR_BLOCK; i++)
        sum += out[i];
    /* "%06o\0 " as GNU tar and Python write it. */
    tar_put_octal(out + TAR_CHKSUM, 7, sum);
}
