/* The tar reader on the real client's upload bodies and the reference/fake servers' fetch
 * replies, fed whole, byte by byte and in random chunks; the writer through the reader; and the
 * malformed archives a hostile client could send. */
#include "unit.h"

#include "buf.h"
#include "tar.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_ENTRIES 128

/* What the callbacks saw, and whether they were called in a sane order. */
typedef struct {
    size_t n;
    char name[MAX_ENTRIES][300];
    uint64_t size[MAX_ENTRIES];
    buf_t data[MAX_ENTRIES];
    bool ended[MAX_ENTRIES];
    bool open;
    int bad_calls;
    /* Make the callback of entry number fail_entry (1-based) return fail_rc. */
    size_t fail_entry;
    char fail_in; /* 'b'egin, 'd'ata or 'e'nd */
    int fail_rc;
} collect_t;

typedef struct {
    int feed;   /* the first non-OK feed result */
    int finish; /* tar_reader_finish */
    uint64_t entries;
    char err[256];
} result_t;

enum feed_mode { FEED_WHOLE, FEED_BYTES, FEED_RANDOM };

static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

static int on_begin(void *ctx, const char *name, uint64_t size)
{
    collect_t *c = ctx;
    if (c->open || c->n == MAX_ENTRIES || strlen(name) >= sizeof c->name[0]) {
        c->bad_calls++;
        return 99;
    }
    snprintf(c->name[c->n], sizeof c->name[0], "%s", name);
    c->size[c->n] = size;
    buf_init(&c->data[c->n]);
    c->ended[c->n] = false;
    c->n++;
    c->open = true;
    return c->fail_in == 'b' && c->n == c->fail_entry ? c->fail_rc : 0;
}

static int on_data(void *ctx, const unsigned char *data, size_t len)
{
    collect_t *c = ctx;
    if (!c->open || len == 0 || c->data[c->n - 1].len + len > c->size[c->n - 1]) {
        c->bad_calls++;
        return 99;
    }
    buf_append(&c->data[c->n - 1], data, len);
    return c->fail_in == 'd' && c->n == c->fail_entry ? c->fail_rc : 0;
}

static int on_end(void *ctx)
{
    collect_t *c = ctx;
    if (!c->open || c->data[c->n - 1].len != c->size[c->n - 1]) {
        c->bad_calls++;
        return 99;
    }
    c->open = false;
    c->ended[c->n - 1] = true;
    return c->fail_in == 'e' && c->n == c->fail_entry ? c->fail_rc : 0;
}

static const tar_callbacks_t callbacks = {on_begin, on_data, on_end};

static void collect_free(collect_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        buf_free(&c->data[i]);
    memset(c, 0, sizeof *c);
}

static result_t run(const void *archive, size_t len, enum feed_mode mode, const tar_limits_t *lim,
                    collect_t *c)
{
    const unsigned char *d = archive;
    result_t res = {0};
    tar_reader_t *r = tar_reader_new(&callbacks, c, lim);
    if (!r) {
        res.feed = res.finish = 999;
        return res;
    }
    size_t off = 0;
    while (off < len && res.feed == TAR_OK) {
        size_t n = len - off;
        if (mode == FEED_BYTES)
            n = 1;
        else if (mode == FEED_RANDOM)
            n = 1 + rnd() % (rnd() % 2 ? 7 : 1100);
        if (n > len - off)
            n = len - off;
        res.feed = tar_reader_feed(r, d + off, n);
        off += n;
    }
    res.finish = tar_reader_finish(r);
    res.entries = tar_reader_entries(r);
    snprintf(res.err, sizeof res.err, "%s", tar_reader_error(r));
    tar_reader_free(r);
    return res;
}

static bool same_collect(const collect_t *a, const collect_t *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->name[i], b->name[i]) != 0 || a->size[i] != b->size[i] ||
            a->ended[i] != b->ended[i] || a->data[i].len != b->data[i].len ||
            (a->data[i].len && memcmp(a->data[i].data, b->data[i].data, a->data[i].len) != 0))
            return false;
    return true;
}

static bool read_file(const char *path, buf_t *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_append(out, tmp, n);
    fclose(f);
    return true;
}

static bool is_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* A Bit object name: <40-hex> or <scope>/<40-hex>. */
static bool is_object_name(const char *name)
{
    size_t len = strlen(name);
    return len >= 40 && is_ref40(name + len - 40, 40) && (len == 40 || name[len - 41] == '/');
}

/* Where the next header starts after the plain ustar entry at h; an independent walk of the
 * captured bytes that the reader's output is compared with. */
static size_t plain_entry(const unsigned char *h, char name[101], uint64_t *size)
{
    char field[13] = {0};
    memcpy(name, h, 100);
    name[100] = '\0';
    memcpy(field, h + 124, 12);
    *size = strtoull(field, NULL, 8);
    return 512 + (size_t)((*size + 511) / 512 * 512);
}

/* Returns the number of entries of the capture; checks the reader against the raw bytes. */
static size_t check_capture(const char *path, bool upload)
{
    buf_t file;
    buf_init(&file);
    CHECK(read_file(path, &file));
    collect_t *whole = calloc(1, sizeof *whole);
    result_t res = run(file.data, file.len, FEED_WHOLE, NULL, whole);
    CHECK(res.feed == TAR_OK && res.finish == TAR_OK && whole->bad_calls == 0);
    if (res.finish != TAR_OK)
        fprintf(stderr, "  %s: %s\n", path, res.err);
    CHECK(res.entries == whole->n);

    size_t h = 0, k = 0;
    bool match = true, zlib = true;
    while (h + 512 <= file.len && !is_zero(file.data + h, 512)) {
        char name[101];
        uint64_t size;
        size_t next = plain_entry(file.data + h, name, &size);
        match = match && k < whole->n && strcmp(whole->name[k], name) == 0 &&
                whole->size[k] == size && whole->ended[k] && h + 512 + size <= file.len &&
                (size == 0 || memcmp(whole->data[k].data, file.data + h + 512, size) == 0);
        /* Every object is a zlib stream; the first byte proves the offsets line up. */
        if (is_object_name(name))
            zlib = zlib && size > 2 && file.data[h + 512] == 0x78;
        else if (upload)
            zlib = false;
        h += next;
        k++;
    }
    CHECK(match && k == whole->n);
    CHECK(zlib);
    CHECK(h < file.len && is_zero(file.data + h, file.len - h));

    for (int i = 0; i < 4; i++) {
        collect_t *c = calloc(1, sizeof *c);
        res = run(file.data, file.len, i == 0 ? FEED_BYTES : FEED_RANDOM, NULL, c);
        CHECK(res.feed == TAR_OK && res.finish == TAR_OK && c->bad_calls == 0);
        CHECK(same_collect(whole, c));
        collect_free(c);
        free(c);
    }
    size_t n = whole->n;
    collect_free(whole);
    free(whole);
    buf_free(&file);
    return n;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Checks every captures/<run>/<file> whose name ends in suffix; returns how many. */
static size_t check_captures(const char *suffix, bool upload)
{
    char dir[1024], path[2048];
    snprintf(dir, sizeof dir, "%s", unit_captures_dir());
    DIR *runs = opendir(dir);
    if (!runs)
        return 0;
    size_t n = 0;
    struct dirent *run_ent;
    while ((run_ent = readdir(runs)) != NULL) {
        if (run_ent->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, run_ent->d_name);
        DIR *files = opendir(path);
        if (!files)
            continue;
        struct dirent *f;
        while ((f = readdir(files)) != NULL) {
            if (!ends_with(f->d_name, suffix))
                continue;
            snprintf(path, sizeof path, "%s/%s/%s", dir, run_ent->d_name, f->d_name);
            check_capture(path, upload);
            n++;
        }
        closedir(files);
    }
    closedir(runs);
    return n;
}

static void load_capture(const char *rel, buf_t *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", unit_captures_dir(), rel);
    buf_init(out);
    CHECK(read_file(path, out));
}

static void test_real_uploads(void)
{
    CHECK(check_captures("-POST-api_scope_put.req.bin", true) >= 20);
    /* Python tarfile replies, padded to 10240 bytes, and the reference server's replies. */
    CHECK(check_captures("-POST-api_scope_fetch.resp.bin", false) >= 20);

    static const struct {
        const char *name;
        uint64_t size;
    } ref283[] = {
        {"a0d8e0358533f1096012b10040ada5aa183003ba", 234},
        {"b04dfe595faf9ffa103df09fd4516ecb6adbcefc", 328},
        {"fe7531f837e2f85b76036b109da0b6db3e97466d", 113},
    };
    buf_t file;
    load_capture("ref-283/004-POST-api_scope_put.req.bin", &file);
    collect_t *c = calloc(1, sizeof *c);
    result_t res = run(file.data, file.len, FEED_RANDOM, NULL, c);
    CHECK(res.finish == TAR_OK && c->n == 3);
    for (size_t i = 0; i < 3 && i < c->n; i++) {
        CHECK_STR(c->name[i], ref283[i].name);
        CHECK(c->size[i] == ref283[i].size);
    }
    collect_free(c);
    buf_free(&file);

    load_capture("e2e-ref-legacy160/002-POST-api_scope_put.req.bin", &file);
    res = run(file.data, file.len, FEED_BYTES, NULL, c);
    CHECK(res.finish == TAR_OK && c->n == 3);
    CHECK_STR(c->name[0], "myorg.myscope/8daa4d35dd6530c9b5f520c988f643f82a771713");
    CHECK(c->size[0] == 249);
    collect_free(c);
    buf_free(&file);

    load_capture("ref-283-20comps/002-POST-api_scope_put.req.bin", &file);
    res = run(file.data, file.len, FEED_RANDOM, NULL, c);
    CHECK(res.finish == TAR_OK && res.entries == 60);
    CHECK_STR(c->name[59], "f9c9deb7669ec1fd62eff5d4bfd87b9fc8cb822b");
    collect_free(c);
    free(c);
    buf_free(&file);
}

/* The same archive with an end marker of one zero block, and with Python's 10240 padding. */
static void test_end_marker_forms(void)
{
    buf_t file;
    load_capture("ref-283/004-POST-api_scope_put.req.bin", &file);
    collect_t *c = calloc(1, sizeof *c);
    /* The entries end at 3072; two zero blocks follow. */
    result_t res = run(file.data, 3584, FEED_RANDOM, NULL, c);
    CHECK(res.finish == TAR_OK && res.entries == 3);
    collect_free(c);

    buf_t padded;
    buf_init(&padded);
    buf_append(&padded, file.data, file.len);
    while (padded.len < 10240)
        buf_append_byte(&padded, 0);
    res = run(padded.data, padded.len, FEED_BYTES, NULL, c);
    CHECK(res.finish == TAR_OK && res.entries == 3);
    collect_free(c);

    static const unsigned char empty[TAR_END_SIZE];
    res = run(empty, sizeof empty, FEED_WHOLE, NULL, c);
    CHECK(res.finish == TAR_OK && res.entries == 0 && c->n == 0);
    free(c);
    buf_free(&padded);
    buf_free(&file);
}

/* ---- building archives in C ---- */

static void set_checksum(unsigned char *h)
{
    unsigned sum = 0;
    memset(h + 148, ' ', 8);
    for (size_t i = 0; i < 512; i++)
        sum += h[i];
    char field[8];
    snprintf(field, sizeof field, "%06o", sum & 0777777);
    memcpy(h + 148, field, 7);
}

static unsigned char *add_header(buf_t *a, const char *name, uint64_t size, char type)
{
    buf_reserve(a, 512);
    unsigned char *h = a->data + a->len;
    tar_header_write(h, name, size, 1700000000);
    h[156] = (unsigned char)type;
    set_checksum(h);
    a->len += 512;
    return h;
}

static void add_body(buf_t *a, const void *data, size_t len)
{
    buf_append(a, data, len);
    for (size_t i = tar_padding(len); i > 0; i--)
        buf_append_byte(a, 0);
}

static void add_file(buf_t *a, const char *name, const void *data, size_t len)
{
    add_header(a, name, len, '0');
    add_body(a, data, len);
}

static void add_ext(buf_t *a, char type, const void *body, size_t len)
{
    add_header(a, type == 'L' ? "././@LongLink" : "././@PaxHeader", len, type);
    add_body(a, body, len);
}

static void add_end(buf_t *a)
{
    for (int i = 0; i < TAR_END_SIZE; i++)
        buf_append_byte(a, 0);
}

/* "LEN key=value\n" where LEN counts its own digits. */
static void pax_record(buf_t *out, const char *key, const char *value)
{
    size_t base = strlen(key) + strlen(value) + 3, len = base + 1;
    while (len != base + (size_t)snprintf(NULL, 0, "%zu", len))
        len = base + (size_t)snprintf(NULL, 0, "%zu", len);
    buf_printf(out, "%zu %s=%s\n", len, key, value);
}

static bool all_modes_agree(const buf_t *a, const tar_limits_t *lim, collect_t *first,
                            result_t *res)
{
    *res = run(a->data, a->len, FEED_WHOLE, lim, first);
    bool same = first->bad_calls == 0;
    for (int m = FEED_BYTES; m <= FEED_RANDOM; m++) {
        collect_t *c = calloc(1, sizeof *c);
        result_t r2 = run(a->data, a->len, (enum feed_mode)m, lim, c);
        same = same && c->bad_calls == 0 && r2.feed == res->feed && r2.finish == res->finish &&
               same_collect(first, c);
        collect_free(c);
        free(c);
    }
    return same;
}

static void test_writer_round_trip(void)
{
    static const struct {
        const char *name;
        size_t size;
    } files[] = {
        {".BIT.START", 49},
        {"a0d8e0358533f1096012b10040ada5aa183003ba", 0},
        {"b04dfe595faf9ffa103df09fd4516ecb6adbcefc", 1},
        {"fe7531f837e2f85b76036b109da0b6db3e97466d", 512},
        {"myorg.myscope/8daa4d35dd6530c9b5f520c988f643f82a771713", 513},
        {"8942307cc9e7e4df5f886696664c40e4efd82ce3", 3000},
        {".BIT.END", 47},
    };
    const size_t nfiles = sizeof files / sizeof files[0];
    buf_t a, content;
    buf_init(&a);
    buf_init(&content);
    for (size_t i = 0; i < 3000; i++)
        buf_append_byte(&content, (unsigned char)(i * 7 + 3));
    for (size_t i = 0; i < nfiles; i++) {
        unsigned char h[512];
        tar_header_write(h, files[i].name, files[i].size, 1795304967);
        buf_append(&a, h, 512);
        add_body(&a, content.data, files[i].size);
    }
    add_end(&a);

    unsigned char h[512];
    tar_header_write(h, "fe7531f837e2f85b76036b109da0b6db3e97466d", 513, 1795304967);
    CHECK(memcmp(h + 100, "0000644", 8) == 0 && memcmp(h + 108, "0000000", 8) == 0);
    CHECK(memcmp(h + 124, "00000001001", 12) == 0 && memcmp(h + 136, "15300427007", 12) == 0);
    CHECK(h[156] == '0' && memcmp(h + 257, "ustar\0" "00", 8) == 0);
    CHECK(h[265] == 0 && h[297] == 0 && h[345] == 0);
    unsigned char copy[512];
    memcpy(copy, h, 512);
    set_checksum(copy);
    CHECK(memcmp(copy, h, 512) == 0);

    collect_t *c = calloc(1, sizeof *c);
    result_t res;
    CHECK(all_modes_agree(&a, NULL, c, &res));
    CHECK(res.feed == TAR_OK && res.finish == TAR_OK && res.entries == nfiles);
    bool ok = c->n == nfiles;
    for (size_t i = 0; ok && i < nfiles; i++)
        ok = strcmp(c->name[i], files[i].name) == 0 && c->size[i] == files[i].size &&
             (files[i].size == 0 ||
              memcmp(c->data[i].data, content.data, files[i].size) == 0);
    CHECK(ok);
    collect_free(c);

    CHECK(tar_padding(0) == 0 && tar_padding(1) == 511 && tar_padding(511) == 1);
    CHECK(tar_padding(512) == 0 && tar_padding(513) == 511 && tar_padding(UINT64_MAX) == 1);

    /* A name over 100 bytes goes through the prefix field. */
    char longname[200];
    snprintf(longname, sizeof longname, "%0120d/%s", 7, "a0d8e0358533f1096012b10040ada5aa183003ba");
    buf_reset(&a);
    add_file(&a, longname, "xyz", 3);
    add_end(&a);
    CHECK(a.data[345] == '0' && strlen((char *)a.data) == 40);
    res = run(a.data, a.len, FEED_RANDOM, NULL, c);
    CHECK(res.finish == TAR_OK && c->n == 1);
    CHECK_STR(c->name[0], longname);
    collect_free(c);
    free(c);
    buf_free(&a);
    buf_free(&content);
}

/* Sizes of 8 GiB and more use GNU base-256; the limit still applies. */
static void test_base256_size(void)
{
    const uint64_t big = (uint64_t)9 << 30;
    unsigned char h[512];
    tar_header_write(h, "a0d8e0358533f1096012b10040ada5aa183003ba", big, 0);
    CHECK(h[124] == 0x80 && h[124 + 7] == 0x02 && h[124 + 8] == 0x40);
    collect_t *c = calloc(1, sizeof *c);
    result_t res = run(h, 512, FEED_WHOLE, NULL, c);
    CHECK(res.feed == TAR_ERR_LIMIT && c->n == 0);
    tar_limits_t lim = {.max_entry_size = UINT64_MAX};
    res = run(h, 512, FEED_WHOLE, &lim, c);
    CHECK(res.feed == TAR_OK && res.finish == TAR_ERR_TRUNCATED && c->n == 1 && c->size[0] == big);
    collect_free(c);

    buf_t a;
    buf_init(&a);
    unsigned char *hh = add_header(&a, "b04dfe595faf9ffa103df09fd4516ecb6adbcefc", 0, '0');
    memset(hh + 124, 0, 12);
    hh[124] = 0x80;
    hh[135] = 5;
    set_checksum(hh);
    add_body(&a, "hello", 5);
    add_end(&a);
    res = run(a.data, a.len, FEED_BYTES, NULL, c);
    CHECK(res.finish == TAR_OK && c->n == 1 && c->size[0] == 5);
    collect_free(c);

    /* Negative sizes: -1 in full, and a small one. */
    hh = a.data;
    memset(hh + 124, 0xff, 12);
    set_checksum(hh);
    res = run(a.data, a.len, FEED_WHOLE, NULL, c);
    CHECK(res.feed == TAR_ERR_FORMAT);
    collect_free(c);
    memset(hh + 124, 0, 12);
    hh[124] = 0xc0;
    hh[135] = 5;
    set_checksum(hh);
    res = run(a.data, a.len, FEED_WHOLE, NULL, c);
    CHECK(res.feed == TAR_ERR_FORMAT);
    collect_free(c);
    free(c);
    buf_free(&a);
}

static void test_prefix_and_gnu(void)
{
    const char *hex = "8daa4d35dd6530c9b5f520c988f643f82a771713";
    buf_t a;
    buf_init(&a);
    unsigned char *h = add_header(&a, hex, 4, '0');
    memcpy(h + 345, "myorg.myscope", 13);
    set_checksum(h);
    add_body(&a, "abcd", 4);
    /* A GNU header keeps atime there, so it is not a prefix. */
    h = add_header(&a, hex, 0, '0');
    memcpy(h + 257, "ustar  \0", 8);
    memcpy(h + 345, "14725347233", 12);
    set_checksum(h);
    /* GNU long name. */
    char longname[260];
    snprintf(longname, sizeof longname, "%0199d/%s", 0, hex);
    add_ext(&a, 'L', longname, strlen(longname) + 1);
    add_file(&a, "././@LongLink", "L", 1);
    add_end(&a);

    collect_t *c = calloc(1, sizeof *c);
    result_t res;
    CHECK(all_modes_agree(&a, NULL, c, &res));
    CHECK(res.finish == TAR_OK && c->n == 3);
    CHECK_STR(c->name[0], "myorg.myscope/8daa4d35dd6530c9b5f520c988f643f82a771713");
    CHECK(c->size[0] == 4 && c->data[0].len == 4 && memcmp(c->data[0].data, "abcd", 4) == 0);
    CHECK_STR(c->name[1], hex);
    CHECK_STR(c->name[2], longname);
    collect_free(c);

    tar_limits_t lim = {.max_name_len = 60};
    res = run(a.data, a.len, FEED_RANDOM, &lim, c);
    CHECK(res.feed == TAR_ERR_LIMIT && c->n == 2);
    collect_free(c);
    lim.max_name_len = 40;
    res = run(a.data, a.len, FEED_WHOLE, &lim, c);
    CHECK(res.feed == TAR_ERR_LIMIT && c->n == 0);
    collect_free(c);

    /* Old writers summed signed chars; GNU tar accepts that sum too. */
    buf_reset(&a);
    h = add_header(&a, "\xe9\xe9\xe9", 0, '0');
    memset(h + 148, ' ', 8);
    int ssum = 0;
    for (size_t i = 0; i < 512; i++)
        ssum += (signed char)h[i];
    char field[8];
    snprintf(field, sizeof field, "%06o", (unsigned)ssum);
    memcpy(h + 148, field, 7);
    add_end(&a);
    res = run(a.data, a.len, FEED_WHOLE, NULL, c);
    CHECK(res.finish == TAR_OK && c->n == 1);
    CHECK_STR(c->name[0], "\xe9\xe9\xe9");
    collect_free(c);
    free(c);
    buf_free(&a);
}

static void test_pax(void)
{
    char path[200];
    snprintf(path, sizeof path, "myorg.myscope/%0120d", 0);
    buf_t rec, a;
    buf_init(&rec);
    buf_init(&a);
    pax_record(&rec, "path", path);
    /* Python's tarfile writes this record with the same length. */
    CHECK(strncmp((char *)rec.data, "144 path=", 9) == 0 && rec.len == 144);
    pax_record(&rec, "mtime", "1795304967.163");
    pax_record(&rec, "SCHILY.xattr.user.k", "v");

    buf_t global;
    buf_init(&global);
    pax_record(&global, "comment", "made by hand");
    pax_record(&global, "path", "ignored-global");
    add_ext(&a, 'g', global.data, global.len);
    add_ext(&a, 'x', rec.data, rec.len);
    add_file(&a, "PaxHeader-truncated-name", "data", 4);
    /* size from PAX beats the header's. */
    buf_reset(&rec);
    pax_record(&rec, "size", "5");
    pax_record(&rec, "path", "x=y");
    add_ext(&a, 'x', rec.data, rec.len);
    add_header(&a, "short", 0, '0');
    add_body(&a, "hello", 5);
    /* An empty value cancels an earlier record. */
    buf_reset(&rec);
    pax_record(&rec, "path", "forgotten");
    pax_record(&rec, "path", "");
    add_ext(&a, 'x', rec.data, rec.len);
    add_file(&a, "header-name", "", 0);
    /* A PAX path beats a GNU long name, whichever comes first. */
    buf_reset(&rec);
    pax_record(&rec, "path", "pax-name");
    add_ext(&a, 'L', "gnu-name", 9);
    add_ext(&a, 'x', rec.data, rec.len);
    add_file(&a, "header-name", "", 0);
    add_ext(&a, 'x', rec.data, rec.len);
    add_ext(&a, 'L', "gnu-name", 9);
    add_file(&a, "header-name", "", 0);
    add_end(&a);

    collect_t *c = calloc(1, sizeof *c);
    result_t res;
    CHECK(all_modes_agree(&a, NULL, c, &res));
    CHECK(res.feed == TAR_OK && res.finish == TAR_OK && c->n == 5);
    CHECK_STR(c->name[0], path);
    CHECK(c->size[0] == 4 && memcmp(c->data[0].data, "data", 4) == 0);
    CHECK_STR(c->name[1], "x=y");
    CHECK(c->size[1] == 5 && memcmp(c->data[1].data, "hello", 5) == 0);
    CHECK_STR(c->name[2], "header-name");
    CHECK_STR(c->name[3], "pax-name");
    CHECK_STR(c->name[4], "pax-name");
    collect_free(c);
    free(c);
    buf_free(&rec);
    buf_free(&global);
    buf_free(&a);
}

/* ---- malformed input ---- */

static result_t run_one(const buf_t *a, const tar_limits_t *lim, size_t *begun)
{
    collect_t *c = calloc(1, sizeof *c);
    result_t res = run(a->data, a->len, FEED_RANDOM, lim, c);
    if (c->bad_calls)
        res.finish = 999;
    if (begun)
        *begun = c->n;
    collect_free(c);
    free(c);
    return res;
}

static void test_bad_checksum(void)
{
    buf_t file;
    load_capture("ref-283/004-POST-api_scope_put.req.bin", &file);
    file.data[1024 + 3] ^= 1;
    collect_t *c = calloc(1, sizeof *c);
    tar_reader_t *r = tar_reader_new(&callbacks, c, NULL);
    CHECK(tar_reader_feed(r, file.data, file.len) == TAR_ERR_FORMAT);
    CHECK_STR(tar_reader_error(r), "tar header checksum mismatch at offset 1024");
    CHECK(tar_reader_entries(r) == 1);
    /* Errors are sticky. */
    CHECK(tar_reader_feed(r, file.data, 512) == TAR_ERR_FORMAT);
    CHECK(tar_reader_finish(r) == TAR_ERR_FORMAT);
    tar_reader_free(r);
    collect_free(c);
    free(c);
    buf_free(&file);
}

static void test_limits(void)
{
    buf_t file;
    load_capture("ref-283/004-POST-api_scope_put.req.bin", &file);
    tar_limits_t lim = {.max_entry_size = 233};
    size_t begun;
    result_t res = run_one(&file, &lim, &begun);
    CHECK(res.feed == TAR_ERR_LIMIT && begun == 0);
    CHECK(strstr(res.err, "234 bytes") != NULL);
    lim.max_entry_size = 234;
    CHECK(run_one(&file, &lim, NULL).feed == TAR_ERR_LIMIT); /* the second entry is 328 */
    lim.max_entry_size = 328;
    CHECK(run_one(&file, &lim, NULL).finish == TAR_OK);
    buf_free(&file);

    /* PAX headers are refused on their declared size, before any body arrives. */
    buf_t a;
    buf_init(&a);
    add_header(&a, "././@PaxHeader", TAR_DEFAULT_MAX_PAX_SIZE + 1, 'x');
    res = run_one(&a, NULL, NULL);
    CHECK(res.feed == TAR_ERR_LIMIT && strstr(res.err, "PAX") != NULL);
    a.data[156] = 'g';
    set_checksum(a.data);
    CHECK(run_one(&a, NULL, NULL).feed == TAR_ERR_LIMIT);

    buf_t rec;
    buf_init(&rec);
    pax_record(&rec, "path", "a0d8e0358533f1096012b10040ada5aa183003ba");
    buf_reset(&a);
    add_ext(&a, 'x', rec.data, rec.len);
    add_file(&a, "x", "", 0);
    add_end(&a);
    lim = (tar_limits_t){.max_pax_size = rec.len};
    CHECK(run_one(&a, &lim, NULL).finish == TAR_OK);
    lim.max_pax_size = rec.len - 1;
    CHECK(run_one(&a, &lim, NULL).feed == TAR_ERR_LIMIT);
    lim = (tar_limits_t){.max_name_len = 39};
    CHECK(run_one(&a, &lim, NULL).feed == TAR_ERR_LIMIT);

    /* A GNU long name is bounded by max_name_len before it is read. */
    buf_reset(&a);
    add_header(&a, "././@LongLink", 257, 'L');
    CHECK(run_one(&a, NULL, NULL).feed == TAR_ERR_LIMIT);
    buf_free(&rec);
    buf_free(&a);
}

static void test_truncated(void)
{
    buf_t file, cut;
    load_capture("ref-283/004-POST-api_scope_put.req.bin", &file);
    buf_init(&cut);
    static const struct {
        size_t len;
        size_t begun;
    } cuts[] = {
        {0, 0},           /* empty body */
        {100, 0},         /* inside the first header */
        {700, 1},         /* inside the first entry's data */
        {1024 + 300, 1},  /* inside the second header */
        {2560 + 113, 3},  /* right after the last entry's data */
        {3072, 3},        /* after its padding: no end marker */
        {3072 + 511, 3},  /* inside the end marker */
    };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        buf_reset(&cut);
        buf_append(&cut, file.data, cuts[i].len);
        size_t begun;
        result_t res = run_one(&cut, NULL, &begun);
        CHECK(res.feed == TAR_OK && res.finish == TAR_ERR_TRUNCATED && begun == cuts[i].begun);
    }
    /* The entry being read is left open: begun, never ended. */
    collect_t *c = calloc(1, sizeof *c);
    result_t res = run(file.data, 700, FEED_BYTES, NULL, c);
    CHECK(res.finish == TAR_ERR_TRUNCATED && c->n == 1 && !c->ended[0] && c->data[0].len == 188);
    CHECK(strstr(res.err, "truncated") != NULL);
    collect_free(c);
    free(c);
    buf_free(&cut);
    buf_free(&file);
}

static void test_not_regular_files(void)
{
    static const char types[] = "1234567KVS";
    bool all = true;
    for (const char *t = types; *t; t++) {
        buf_t a;
        buf_init(&a);
        add_file(&a, "a0d8e0358533f1096012b10040ada5aa183003ba", "x", 1);
        add_header(&a, "b04dfe595faf9ffa103df09fd4516ecb6adbcefc", 0, *t);
        add_end(&a);
        size_t begun;
        result_t res = run_one(&a, NULL, &begun);
        all = all && res.feed == TAR_ERR_FORMAT && begun == 1;
        buf_free(&a);
    }
    CHECK(all);

    buf_t a;
    buf_init(&a);
    add_header(&a, "dir/", 0, '5');
    add_end(&a);
    unsigned char *h = a.data;
    result_t res = run_one(&a, NULL, NULL);
    CHECK(res.feed == TAR_ERR_FORMAT && strstr(res.err, "directory") != NULL);
    h[156] = '2';
    memcpy(h + 157, "/etc/passwd", 11);
    set_checksum(h);
    res = run_one(&a, NULL, NULL);
    CHECK(res.feed == TAR_ERR_FORMAT && strstr(res.err, "symbolic link") != NULL);
    buf_free(&a);
}

/* Each body is one PAX 'x' header whose records are wrong. */
static void test_bad_pax(void)
{
    static const struct {
        const char *body;
        size_t len;
    } bad[] = {
        {"13 path=abc\n", 12},      /* length too long */
        {"11 path=abc\n", 12},      /* too short: no newline where it ends */
        {"12 path=abc ", 12},       /* no newline */
        {"0 path=abcd\n", 12},
        {"99 path=abc\n", 12},      /* beyond the body */
        {"x2 path=abc\n", 12},
        {" 12 path=ab\n", 12},
        {"12path=abcd\n", 12},
        {"-12 path=ab\n", 12},
        {"3 \n", 3},
        {"5 =a\n", 5},              /* empty key */
        {"7 path\n", 7},            /* no '=' */
        {"12 path=abc\n\n", 13},    /* trailing garbage */
        {"12 path=abc\n\0\0\0", 15},
        {"99999999999999999999999999 path=abc\n", 36}, /* overflow */
        {"12 path=a\0c\n", 12},     /* NUL in a path */
        {"10 size=x\n", 10},
        {"29 size=99999999999999999999\n", 29},
        {"", 0},
    };
    bool all = true;
    for (size_t i = 0; bad[i].len; i++) {
        buf_t a;
        buf_init(&a);
        add_ext(&a, 'x', bad[i].body, bad[i].len);
        add_file(&a, "a0d8e0358533f1096012b10040ada5aa183003ba", "", 0);
        add_end(&a);
        size_t begun;
        result_t res = run_one(&a, NULL, &begun);
        if (res.feed != TAR_ERR_FORMAT || begun != 0) {
            fprintf(stderr, "  PAX body %zu accepted: %d %s\n", i, res.feed, res.err);
            all = false;
        }
        buf_free(&a);
    }
    CHECK(all);

    /* The control: the same archive with a right record. */
    buf_t a;
    buf_init(&a);
    add_ext(&a, 'x', "12 path=abc\n", 12);
    add_file(&a, "a0d8e0358533f1096012b10040ada5aa183003ba", "", 0);
    add_end(&a);
    CHECK(run_one(&a, NULL, NULL).finish == TAR_OK);

    /* An extended header must be followed by an entry. */
    buf_reset(&a);
    add_ext(&a, 'x', "12 path=abc\n", 12);
    add_end(&a);
    CHECK(run_one(&a, NULL, NULL).feed == TAR_ERR_FORMAT);
    buf_free(&a);
}

static void test_bad_headers(void)
{
    buf_t a;
    buf_init(&a);
    add_header(&a, "a0d8e0358533f1096012b10040ada5aa183003ba", 3, '0');
    add_body(&a, "abc", 3);
    add_end(&a);
    unsigned char *h = a.data;
    CHECK(run_one(&a, NULL, NULL).finish == TAR_OK);

    unsigned char saved[512];
    memcpy(saved, h, 512);
    memset(h + 257, 0, 8); /* a v7 header */
    set_checksum(h);
    CHECK(run_one(&a, NULL, NULL).feed == TAR_ERR_FORMAT);
    memcpy(h, saved, 512);
    memcpy(h + 124, "0000000003x", 11);
    set_checksum(h);
    CHECK(run_one(&a, NULL, NULL).feed == TAR_ERR_FORMAT);
    memset(h + 124, 0, 12);
    set_checksum(h);
    CHECK(run_one(&a, NULL, NULL).feed == TAR_ERR_FORMAT);
    memcpy(h, saved, 512);
    memset(h + 148, ' ', 8);
    CHECK(run_one(&a, NULL, NULL).feed == TAR_ERR_FORMAT);
    memcpy(h, saved, 512);
    memset(h, 0, 100); /* no name */
    set_checksum(h);
    CHECK(run_one(&a, NULL, NULL).feed == TAR_ERR_FORMAT);
    buf_free(&a);
}

static void test_after_end_marker(void)
{
    buf_t file, a;
    load_capture("ref-283/004-POST-api_scope_put.req.bin", &file);
    buf_init(&a);
    buf_append(&a, file.data, file.len);
    buf_append_str(&a, "junk");
    result_t res = run_one(&a, NULL, NULL);
    CHECK(res.feed == TAR_ERR_FORMAT);
    CHECK_STR(res.err, "data after the tar end-of-archive marker at offset 4096");

    /* After a single zero block, a header is garbage too. */
    buf_reset(&a);
    buf_append(&a, file.data, 3584);
    buf_append(&a, file.data, 1024);
    CHECK(run_one(&a, NULL, NULL).feed == TAR_ERR_FORMAT);
    buf_free(&a);
    buf_free(&file);
}

static void test_callback_abort(void)
{
    buf_t file;
    load_capture("ref-283/004-POST-api_scope_put.req.bin", &file);
    static const struct {
        char in;
        size_t entry;
        int rc;
        uint64_t entries;
    } cases[] = {{'b', 2, 42, 1}, {'d', 1, -7, 0}, {'e', 3, 5, 3}, {'b', 1, TAR_ERR_LIMIT, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        collect_t *c = calloc(1, sizeof *c);
        c->fail_in = cases[i].in;
        c->fail_entry = cases[i].entry;
        c->fail_rc = cases[i].rc;
        tar_reader_t *r = tar_reader_new(&callbacks, c, NULL);
        int rc = TAR_OK;
        for (size_t off = 0; off < file.len && rc == TAR_OK; off += 100)
            rc = tar_reader_feed(r, file.data + off, file.len - off < 100 ? file.len - off : 100);
        CHECK(rc == cases[i].rc);
        CHECK(tar_reader_feed(r, file.data, 1) == cases[i].rc);
        CHECK(tar_reader_finish(r) == cases[i].rc);
        CHECK(tar_reader_entries(r) == cases[i].entries && c->n == cases[i].entry);
        tar_reader_free(r);
        collect_free(c);
        free(c);
    }
    buf_free(&file);
}

/* Random damage to real and built archives: never a crash (ASan), never a callback out of
 * order, and only the documented results. */
static void test_mutations(void)
{
    buf_t file, rec, pax, a;
    load_capture("ref-283/004-POST-api_scope_put.req.bin", &file);
    buf_init(&rec);
    buf_init(&pax);
    buf_init(&a);
    pax_record(&rec, "path", "myorg.myscope/a0d8e0358533f1096012b10040ada5aa183003ba");
    pax_record(&rec, "size", "3");
    add_ext(&pax, 'x', rec.data, rec.len);
    add_header(&pax, "x", 0, '0');
    add_body(&pax, "abc", 3);
    add_ext(&pax, 'L', "b04dfe595faf9ffa103df09fd4516ecb6adbcefc", 41);
    add_file(&pax, "y", "de", 2);
    add_end(&pax);
    size_t odd = 0;
    for (int i = 0; i < 3000; i++) {
        const buf_t *src = i % 2 ? &file : &pax;
        buf_reset(&a);
        buf_append(&a, src->data, src->len);
        for (uint32_t k = 1 + rnd() % 4; k > 0; k--)
            a.data[rnd() % a.len] = (unsigned char)rnd();
        if (rnd() % 4 == 0)
            a.len = rnd() % a.len;
        collect_t *c = calloc(1, sizeof *c);
        tar_limits_t lim = {.max_entry_size = 4096};
        result_t res = run(a.data, a.len, FEED_RANDOM, &lim, c);
        if (c->bad_calls || res.feed > 0 || res.feed < TAR_ERR_TRUNCATED ||
            res.finish > 0 || res.finish < TAR_ERR_TRUNCATED ||
            (res.finish == TAR_OK && res.entries != c->n))
            odd++;
        collect_free(c);
        free(c);
    }
    CHECK(odd == 0);
    collect_t *c = calloc(1, sizeof *c);
    result_t res = run(pax.data, pax.len, FEED_BYTES, NULL, c);
    CHECK(res.finish == TAR_OK && c->n == 2);
    CHECK_STR(c->name[0], "myorg.myscope/a0d8e0358533f1096012b10040ada5aa183003ba");
    CHECK_STR(c->name[1], "b04dfe595faf9ffa103df09fd4516ecb6adbcefc");
    collect_free(c);
    free(c);
    buf_free(&a);
    buf_free(&pax);
    buf_free(&rec);
    buf_free(&file);
}

UNIT_MAIN("tar", {
    test_real_uploads();
    test_end_marker_forms();
    test_writer_round_trip();
    test_base256_size();
    test_prefix_and_gnu();
    test_pax();
    test_bad_checksum();
    test_limits();
    test_truncated();
    test_not_regular_files();
    test_bad_pax();
    test_bad_headers();
    test_after_end_marker();
    test_callback_abort();
    test_mutations();
})
