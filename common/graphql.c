/* GraphQL executable documents (spec, October 2021 edition): lexer, recursive-descent parser,
 * operation selection, variable coercion and field collection. Hostile input is the normal
 * case here, so every recursion carries a depth checked against max_depth, the parser counts
 * tokens against max_nodes, and flattening spends a work budget of max_nodes. Everything a
 * document owns lives in one arena, so errors simply return and gql_free releases it all. */
#include "graphql.h"

#include "buf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* Names in error messages are clipped so a 60 KiB name cannot become a 60 KiB message. */
#define GQL_MSG_CLIP 64
#define GQL_CHUNK_SIZE 16384

typedef struct gql_chunk {
    struct gql_chunk *next;
    size_t used, cap;
    max_align_t data[];
} gql_chunk_t;

/* Interned: one struct per distinct Name, so names compare by pointer and can carry marks that
 * make duplicate checks and field grouping linear instead of quadratic. */
typedef struct gql_name {
    uint64_t mark;     /* generation of the pass that last touched this name */
    void *slot;        /* that pass's entry for it */
    uint64_t var_mark; /* gql_prepare generation whose operation defines this variable */
    struct gql_opdef *op;
    struct gql_frag *frag;
    size_t len;
    char s[];
} gql_name_t;

typedef enum {
    GQL_V_VAR,
    GQL_V_INT,
    GQL_V_FLOAT,
    GQL_V_STRING,
    GQL_V_BOOL,
    GQL_V_NULL,
    GQL_V_ENUM,
    GQL_V_LIST,
    GQL_V_OBJECT,
} gql_vkind_t;

struct gql_value {
    gql_vkind_t kind;
    unsigned line, col;
    gql_name_t *name; /* VAR: the variable; ENUM: the value */
    const char *str;  /* INT/FLOAT: source text; STRING: decoded UTF-8 (may hold NULs) */
    size_t len;
    bool b;
    struct gql_value **items; /* LIST items, OBJECT values */
    gql_name_t **keys;        /* OBJECT keys */
    size_t n;
    size_t size; /* nodes in this value, itself included */
};

typedef struct {
    gql_name_t *name;
    gql_arg_t *args;
    size_t nargs;
} gql_dir_t;

typedef enum { GQL_TYPE_NAMED, GQL_TYPE_LIST, GQL_TYPE_NONNULL } gql_type_kind_t;

typedef struct gql_type {
    gql_type_kind_t kind;
    gql_name_t *name;
    struct gql_type *of;
} gql_type_t;

typedef struct gql_vardef {
    gql_name_t *name;
    gql_type_t *type;
    struct gql_value *def;
    unsigned line, col;
} gql_vardef_t;

typedef struct gql_selset gql_selset_t;

typedef enum { GQL_SEL_FIELD, GQL_SEL_SPREAD, GQL_SEL_INLINE } gql_sel_kind_t;

typedef struct gql_sel {
    gql_sel_kind_t kind;
    unsigned line, col;
    gql_dir_t *dirs;
    size_t ndirs;
    gql_name_t *alias;
    gql_name_t *name; /* field name, spread fragment name, or inline type condition (may be NULL) */
    gql_arg_t *args;
    size_t nargs;
    gql_selset_t *set; /* field sub-selection (NULL for leaves) or inline fragment body */
    /* What evaluating the directives and copying the arguments costs, charged on every visit
     * since a fragment can be visited once per place it is spread. */
    size_t dircost, argcost;
    struct gql_frag *frag;
    struct gql_sel *next_spread;
} gql_sel_t;

struct gql_selset {
    gql_sel_t **items;
    size_t n;
};

typedef struct gql_opdef {
    gql_op_kind_t kind;
    gql_name_t *name;
    gql_vardef_t *vars;
    size_t nvars;
    gql_dir_t *dirs;
    size_t ndirs;
    gql_selset_t *set;
    unsigned line, col;
    struct gql_opdef *next;
} gql_opdef_t;

typedef struct gql_frag {
    gql_name_t *name;
    gql_name_t *type;
    gql_dir_t *dirs;
    size_t ndirs;
    gql_selset_t *set;
    int state; /* cycle check: 0 unvisited, 1 on the current path, 2 done */
    uint64_t mark;
    unsigned line, col;
    struct gql_frag *next;
} gql_frag_t;

struct gql_doc {
    gql_chunk_t *chunks;
    size_t max_bytes, max_nodes;
    int max_depth;
    gql_name_t **names;
    size_t names_cap, names_n;
    gql_opdef_t *ops, **ops_tail; /* kept in source order for "the only operation" */
    size_t nops;
    gql_frag_t *frags;
    uint64_t seed; /* of the name hash */
    uint64_t gen;  /* mark generation */
    uint64_t prep; /* gql_prepare generation, for gql_name_t.var_mark */
    json_t *vars;  /* coerced variables of the last gql_prepare */
    size_t budget; /* flattening work left */
    char *err;
    size_t errlen;
};

static void gql_errf(gql_doc_t *doc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void gql_errf(gql_doc_t *doc, const char *fmt, ...)
{
    if (!doc->err || !doc->errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(doc->err, doc->errlen, fmt, ap);
    va_end(ap);
}

/* Length of at most max bytes of s that does not split a UTF-8 sequence, so clipped text stays
 * valid for the JSON error body. */
static int gql_clip(const char *s, size_t len, size_t max)
{
    if (len <= max) return (int)len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

/* ---- arena ---- */

static void *gql_alloc(gql_doc_t *doc, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    if (n > SIZE_MAX - align - sizeof(gql_chunk_t)) return NULL;
    n = n ? (n + align - 1) / align * align : align;
    gql_chunk_t *c = doc->chunks;
    if (c && c->cap - c->used >= n) {
        void *p = (char *)c->data + c->used;
        c->used += n;
        return p;
    }
    size_t cap = n > GQL_CHUNK_SIZE ? n : GQL_CHUNK_SIZE;
    gql_chunk_t *nc = malloc(sizeof *nc + cap);
    if (!nc) return NULL;
    nc->used = n;
    nc->cap = cap;
    /* A big block goes behind the current chunk so the current chunk's free tail is not lost. */
    if (c && n > GQL_CHUNK_SIZE / 2) {
        nc->next = c->next;
        c->next = nc;
    } else {
        nc->next = c;
        doc->chunks = nc;
    }
    return nc->data;
}

static void *gql_zalloc(gql_doc_t *doc, size_t n)
{
    void *p = gql_alloc(doc, n);
    if (p) memset(p, 0, n);
    return p;
}

static bool gql_oom(gql_doc_t *doc)
{
    gql_errf(doc, "Out of memory while parsing the GraphQL document");
    return false;
}

/* ---- names ---- */

/* FNV-1a from a per-document seed, then a 64-bit finalizer so the low bits used for the table
 * index depend on every input bit. */
static uint64_t gql_hash(uint64_t seed, const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static bool gql_names_grow(gql_doc_t *doc)
{
    size_t cap = doc->names_cap ? doc->names_cap * 2 : 256;
    gql_name_t **tab = gql_zalloc(doc, cap * sizeof *tab);
    if (!tab) return false;
    for (size_t i = 0; i < doc->names_cap; i++) {
        gql_name_t *nm = doc->names[i];
        if (!nm) continue;
        size_t j = gql_hash(doc->seed, nm->s, nm->len) & (cap - 1);
        while (tab[j])
            j = (j + 1) & (cap - 1);
        tab[j] = nm;
    }
    doc->names = tab;
    doc->names_cap = cap;
    return true;
}

static gql_name_t *gql_intern(gql_doc_t *doc, const char *s, size_t len)
{
    if (doc->names_n * 2 >= doc->names_cap && !gql_names_grow(doc)) return NULL;
    size_t j = gql_hash(doc->seed, s, len) & (doc->names_cap - 1);
    for (gql_name_t *nm; (nm = doc->names[j]); j = (j + 1) & (doc->names_cap - 1))
        if (nm->len == len && memcmp(nm->s, s, len) == 0) return nm;
    gql_name_t *nm = gql_zalloc(doc, sizeof *nm + len + 1);
    if (!nm) return NULL;
    memcpy(nm->s, s, len);
    nm->len = len;
    doc->names[j] = nm;
    doc->names_n++;
    return nm;
}

/* The public gql_arg_t carries the name as a plain string; it is always an interned s[]. */
static gql_name_t *gql_name_of(const char *s)
{
    return (gql_name_t *)(void *)(s - offsetof(gql_name_t, s));
}

/* ---- lexer ---- */

typedef enum {
    T_EOF,
    T_BANG,
    T_DOLLAR,
    T_AMP,
    T_LPAREN,
    T_RPAREN,
    T_SPREAD,
    T_COLON,
    T_EQUALS,
    T_AT,
    T_LBRACKET,
    T_RBRACKET,
    T_LBRACE,
    T_PIPE,
    T_RBRACE,
    T_NAME,
    T_INT,
    T_FLOAT,
    T_STRING,
    T_BLOCK_STRING,
} gql_tok_kind_t;

static const char *const gql_tok_names[] = {
    [T_EOF] = "<EOF>",      [T_BANG] = "\"!\"",
    [T_DOLLAR] = "\"$\"",   [T_AMP] = "\"&\"",
    [T_LPAREN] = "\"(\"",   [T_RPAREN] = "\")\"",
    [T_SPREAD] = "\"...\"", [T_COLON] = "\":\"",
    [T_EQUALS] = "\"=\"",   [T_AT] = "\"@\"",
    [T_LBRACKET] = "\"[\"", [T_RBRACKET] = "\"]\"",
    [T_LBRACE] = "\"{\"",   [T_PIPE] = "\"|\"",
    [T_RBRACE] = "\"}\"",   [T_NAME] = "Name",
    [T_INT] = "Int",        [T_FLOAT] = "Float",
    [T_STRING] = "String",  [T_BLOCK_STRING] = "BlockString",
};

typedef struct {
    gql_tok_kind_t kind;
    const char *start;
    size_t len; /* source span */
    unsigned line, col;
    gql_name_t *name; /* T_NAME */
    char *str;        /* T_STRING, T_BLOCK_STRING: decoded value */
    size_t slen;
} gql_tok_t;

typedef struct {
    gql_doc_t *doc;
    const char *src, *end, *pos;
    const char *line_start;
    unsigned line;
    gql_tok_t tok;
    int depth;
    size_t tokens;
    buf_t stack; /* scratch pointers for lists still being parsed, popped LIFO */
    gql_sel_t *spreads;
} gql_parser_t;

static void gql_locate(const gql_parser_t *p, const char *at, unsigned *line, unsigned *col)
{
    unsigned l = 1;
    const char *ls = p->src;
    for (const char *s = p->src; s < at; s++) {
        if (*s == '\n' || (*s == '\r' && !(s + 1 < at && s[1] == '\n'))) {
            l++;
            ls = s + 1;
        }
    }
    *line = l;
    *col = (unsigned)(at - ls) + 1;
}

static bool gql_syntax(gql_parser_t *p, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool gql_syntax(gql_parser_t *p, const char *at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned line, col;
    gql_locate(p, at, &line, &col);
    gql_errf(p->doc, "Syntax Error: %s at %u:%u", msg, line, col);
    return false;
}

/* The character at s for a message: itself if printable ASCII, else U+XXXX. */
static void gql_char_desc(const char *s, const char *end, char *out, size_t outlen)
{
    if (s >= end) {
        snprintf(out, outlen, "<EOF>");
        return;
    }
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c < 0x7F) {
        snprintf(out, outlen, "\"%c\"", c);
        return;
    }
    uint32_t cp = c;
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra) {
        cp = c & (0x3F >> extra);
        for (int i = 1; i <= extra && s + i < end; i++)
            cp = cp << 6 | ((unsigned char)s[i] & 0x3F);
    }
    snprintf(out, outlen, "U+%04X", (unsigned)cp);
}

static void gql_tok_desc(const gql_tok_t *t, char *out, size_t outlen)
{
    switch (t->kind) {
    case T_NAME:
    case T_INT:
    case T_FLOAT:
        snprintf(out, outlen, "%s \"%.*s\"", gql_tok_names[t->kind],
                 gql_clip(t->start, t->len, GQL_MSG_CLIP), t->start);
        break;
    case T_STRING:
    case T_BLOCK_STRING:
        snprintf(out, outlen, "%s \"%.*s\"", gql_tok_names[t->kind],
                 gql_clip(t->str, t->slen, GQL_MSG_CLIP), t->str);
        break;
    default:
        snprintf(out, outlen, "%s", gql_tok_names[t->kind]);
    }
}

static bool gql_utf8_valid(const unsigned char *s, size_t len, size_t *bad)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            break;
        }
        if (len - i <= n) break;
        size_t k;
        for (k = 1; k <= n && (s[i + k] & 0xC0) == 0x80; k++)
            cp = cp << 6 | (s[i + k] & 0x3F);
        if (k <= n || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) break;
        i += n + 1;
    }
    *bad = i;
    return i == len;
}

static bool gql_is_name_start(int c)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool gql_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static size_t gql_put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int gql_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads \uXXXX or \u{X...} starting at the 'u'; returns the code point or -1. */
static long gql_read_uescape(const char *s, const char *end, const char **after)
{
    s++;
    long cp = 0;
    if (s < end && *s == '{') {
        const char *q = s + 1;
        int h;
        while (q < end && (h = gql_hexval((unsigned char)*q)) >= 0) {
            cp = cp * 16 + h;
            if (cp > 0x10FFFF) return -1;
            q++;
        }
        if (q == s + 1 || q >= end || *q != '}') return -1;
        *after = q + 1;
        return cp;
    }
    if (end - s < 4) return -1;
    for (int i = 0; i < 4; i++) {
        int h = gql_hexval((unsigned char)s[i]);
        if (h < 0) return -1;
        cp = cp * 16 + h;
    }
    *after = s + 4;
    return cp;
}

static bool gql_lex_string(gql_parser_t *p, const char *s)
{
    const char *q = s + 1, *e = p->end;
    while (q < e && *q != '"') {
        if (*q == '\n' || *q == '\r') break;
        q += (*q == '\\' && q + 1 < e && q[1] != '\n' && q[1] != '\r') ? 2 : 1;
    }
    if (q >= e || *q != '"') return gql_syntax(p, q, "Unterminated string");
    char *out = gql_alloc(p->doc, (size_t)(q - s));
    if (!out) return gql_oom(p->doc);
    size_t n = 0;
    for (const char *c = s + 1; c < q;) {
        unsigned char ch = (unsigned char)*c;
        if (ch < 0x20 && ch != '\t') {
            char d[16];
            gql_char_desc(c, e, d, sizeof d);
            return gql_syntax(p, c, "Invalid character within String: %s", d);
        }
        if (ch != '\\') {
            out[n++] = *c++;
            continue;
        }
        const char *esc = c;
        static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
        const char *hit = c[1] ? strchr(simple_in, c[1]) : NULL;
        if (hit) {
            out[n++] = simple_out[hit - simple_in];
            c += 2;
            continue;
        }
        long cp = c[1] == 'u' ? gql_read_uescape(c + 1, q, &c) : -1;
        if (cp >= 0xD800 && cp <= 0xDBFF && q - c >= 6 && c[0] == '\\' && c[1] == 'u') {
            const char *after;
            long lo = gql_read_uescape(c + 1, q, &after);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                c = after;
            }
        }
        if (cp < 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return gql_syntax(p, esc, "Invalid escape sequence: \"%.*s\"",
                              gql_clip(esc, (size_t)(q - esc), 8), esc);
        }
        n += gql_put_utf8(out + n, (uint32_t)cp);
    }
    p->tok.kind = T_STRING;
    p->tok.str = out;
    p->tok.slen = n;
    p->pos = q + 1;
    return true;
}

/* The spec's BlockStringValue(): strip the common indentation of all lines but the first, then
 * drop leading and trailing blank lines. */
static size_t gql_block_value(const char *r, size_t n, char *out)
{
    size_t common = SIZE_MAX, first = SIZE_MAX, last = 0, idx = 0;
    for (size_t i = 0; i <= n; idx++) {
        size_t j = i;
        while (j < n && r[j] != '\n' && r[j] != '\r')
            j++;
        size_t ind = 0;
        while (i + ind < j && (r[i + ind] == ' ' || r[i + ind] == '\t'))
            ind++;
        if (i + ind < j) {
            if (idx > 0 && ind < common) common = ind;
            if (first == SIZE_MAX) first = idx;
            last = idx;
        }
        i = j < n && r[j] == '\r' && j + 1 < n && r[j + 1] == '\n' ? j + 2 : j + 1;
    }
    if (first == SIZE_MAX) return 0;
    size_t o = 0;
    idx = 0;
    for (size_t i = 0; i <= n && idx <= last; idx++) {
        size_t j = i;
        while (j < n && r[j] != '\n' && r[j] != '\r')
            j++;
        if (idx >= first) {
            size_t skip = idx == 0 || common == SIZE_MAX ? 0 : common;
            if (skip > j - i) skip = j - i;
            if (idx > first) out[o++] = '\n';
            memcpy(out + o, r + i + skip, j - i - skip);
            o += j - i - skip;
        }
        i = j < n && r[j] == '\r' && j + 1 < n && r[j + 1] == '\n' ? j + 2 : j + 1;
    }
    return o;
}

static bool gql_lex_block_string(gql_parser_t *p, const char *s)
{
    const char *q = s + 3, *e = p->end;
    for (;;) {
        if (q >= e) return gql_syntax(p, q, "Unterminated string");
        if (e - q >= 3 && q[0] == '"' && q[1] == '"' && q[2] == '"') break;
        if (e - q >= 4 && q[0] == '\\' && q[1] == '"' && q[2] == '"' && q[3] == '"') {
            q += 4;
            continue;
        }
        unsigned char ch = (unsigned char)*q;
        if (ch == '\n' || ch == '\r') {
            q += (ch == '\r' && q + 1 < e && q[1] == '\n') ? 2 : 1;
            p->line++;
            p->line_start = q;
            continue;
        }
        if (ch < 0x20 && ch != '\t') {
            char d[16];
            gql_char_desc(q, e, d, sizeof d);
            return gql_syntax(p, q, "Invalid character within String: %s", d);
        }
        q++;
    }
    size_t rawcap = (size_t)(q - s - 3);
    char *raw = gql_alloc(p->doc, rawcap), *out = gql_alloc(p->doc, rawcap);
    if (!raw || !out) return gql_oom(p->doc);
    size_t rn = 0;
    for (const char *c = s + 3; c < q;) {
        if (q - c >= 4 && c[0] == '\\' && c[1] == '"' && c[2] == '"' && c[3] == '"') {
            memcpy(raw + rn, "\"\"\"", 3);
            rn += 3;
            c += 4;
        } else {
            raw[rn++] = *c++;
        }
    }
    p->tok.kind = T_BLOCK_STRING;
    p->tok.str = out;
    p->tok.slen = gql_block_value(raw, rn, out);
    p->pos = q + 3;
    return true;
}

static bool gql_lex_number(gql_parser_t *p, const char *s)
{
    const char *q = s, *e = p->end;
    char d[16];
    bool is_float = false;
    if (*q == '-') q++;
    if (q < e && *q == '0') {
        q++;
        if (q < e && gql_is_digit((unsigned char)*q)) {
            gql_char_desc(q, e, d, sizeof d);
            return gql_syntax(p, q, "Invalid number, unexpected digit after 0: %s", d);
        }
    } else {
        if (q >= e || !gql_is_digit((unsigned char)*q)) goto bad_digit;
        while (q < e && gql_is_digit((unsigned char)*q))
            q++;
    }
    if (q < e && *q == '.') {
        is_float = true;
        if (++q >= e || !gql_is_digit((unsigned char)*q)) goto bad_digit;
        while (q < e && gql_is_digit((unsigned char)*q))
            q++;
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        is_float = true;
        if (++q < e && (*q == '+' || *q == '-')) q++;
        if (q >= e || !gql_is_digit((unsigned char)*q)) goto bad_digit;
        while (q < e && gql_is_digit((unsigned char)*q))
            q++;
    }
    if (q < e && (*q == '.' || gql_is_name_start((unsigned char)*q))) goto bad_digit;
    p->tok.kind = is_float ? T_FLOAT : T_INT;
    p->pos = q;
    return true;
bad_digit:
    gql_char_desc(q, e, d, sizeof d);
    return gql_syntax(p, q, "Invalid number, expected digit but got: %s", d);
}

static bool gql_next(gql_parser_t *p)
{
    const char *s = p->pos, *e = p->end;
    while (s < e) {
        unsigned char c = (unsigned char)*s;
        if (c == ' ' || c == '\t' || c == ',') {
            s++;
        } else if (c == '\n' || c == '\r') {
            s += (c == '\r' && s + 1 < e && s[1] == '\n') ? 2 : 1;
            p->line++;
            p->line_start = s;
        } else if (c == '#') {
            while (s < e && *s != '\n' && *s != '\r')
                s++;
        } else if (c == 0xEF && e - s >= 3 && (unsigned char)s[1] == 0xBB &&
                   (unsigned char)s[2] == 0xBF) {
            s += 3;
        } else {
            break;
        }
    }
    memset(&p->tok, 0, sizeof p->tok);
    p->tok.start = s;
    p->tok.line = p->line;
    p->tok.col = (unsigned)(s - p->line_start) + 1;
    if (++p->tokens > p->doc->max_nodes)
        return gql_syntax(p, s, "Document has more than %zu tokens", p->doc->max_nodes);
    if (s >= e) {
        p->tok.kind = T_EOF;
        p->pos = s;
        return true;
    }
    static const char punct[] = "!$&():=@[]{|}";
    static const gql_tok_kind_t punct_kind[] = {T_BANG,   T_DOLLAR, T_AMP,   T_LPAREN,   T_RPAREN,
                                                T_COLON,  T_EQUALS, T_AT,    T_LBRACKET, T_RBRACKET,
                                                T_LBRACE, T_PIPE,   T_RBRACE};
    unsigned char c = (unsigned char)*s;
    const char *pc = c ? strchr(punct, c) : NULL;
    bool ok = true;
    if (pc) {
        p->tok.kind = punct_kind[pc - punct];
        p->pos = s + 1;
    } else if (c == '.' && e - s >= 3 && s[1] == '.' && s[2] == '.') {
        p->tok.kind = T_SPREAD;
        p->pos = s + 3;
    } else if (c == '"') {
        ok = e - s >= 3 && s[1] == '"' && s[2] == '"' ? gql_lex_block_string(p, s)
                                                      : gql_lex_string(p, s);
    } else if (c == '-' || gql_is_digit(c)) {
        ok = gql_lex_number(p, s);
    } else if (gql_is_name_start(c)) {
        const char *q = s + 1;
        while (q < e && (gql_is_name_start((unsigned char)*q) || gql_is_digit((unsigned char)*q)))
            q++;
        p->tok.kind = T_NAME;
        p->tok.name = gql_intern(p->doc, s, (size_t)(q - s));
        if (!p->tok.name) return gql_oom(p->doc);
        p->pos = q;
    } else {
        char d[16];
        gql_char_desc(s, e, d, sizeof d);
        return gql_syntax(p, s, "Unexpected character: %s", d);
    }
    p->tok.len = (size_t)(p->pos - s);
    return ok;
}

/* ---- parser ---- */

static bool gql_unexpected(gql_parser_t *p)
{
    char d[128];
    gql_tok_desc(&p->tok, d, sizeof d);
    return gql_syntax(p, p->tok.start, "Unexpected %s", d);
}

static bool gql_expect(gql_parser_t *p, gql_tok_kind_t kind)
{
    if (p->tok.kind == kind) return gql_next(p);
    char d[128];
    gql_tok_desc(&p->tok, d, sizeof d);
    return gql_syntax(p, p->tok.start, "Expected %s, found %s", gql_tok_names[kind], d);
}

static bool gql_is_keyword(const gql_parser_t *p, const char *kw)
{
    return p->tok.kind == T_NAME && strcmp(p->tok.name->s, kw) == 0;
}

static gql_name_t *gql_expect_name(gql_parser_t *p)
{
    gql_name_t *nm = p->tok.name;
    if (p->tok.kind != T_NAME) {
        gql_expect(p, T_NAME);
        return NULL;
    }
    return gql_next(p) ? nm : NULL;
}

static bool gql_enter(gql_parser_t *p)
{
    if (++p->depth > p->doc->max_depth)
        return gql_syntax(p, p->tok.start, "Document nesting exceeds the depth limit of %d",
                          p->doc->max_depth);
    return true;
}

static bool gql_push(gql_parser_t *p, void *ptr)
{
    return buf_append(&p->stack, &ptr, sizeof ptr) || gql_oom(p->doc);
}

static size_t gql_stack_top(const gql_parser_t *p)
{
    return p->stack.len / sizeof(void *);
}

/* Moves the pointers pushed since base into an arena array and pops them. */
static bool gql_pop_array(gql_parser_t *p, size_t base, void ***out, size_t *n)
{
    *n = gql_stack_top(p) - base;
    *out = NULL;
    if (*n) {
        *out = gql_alloc(p->doc, *n * sizeof(void *));
        if (!*out) return gql_oom(p->doc);
        memcpy(*out, p->stack.data + base * sizeof(void *), *n * sizeof(void *));
    }
    p->stack.len = base * sizeof(void *);
    return true;
}

/* Rejects a repeated name in a finished list; marks are set only after the list is complete,
 * because parsing nested values in between reuses them. */
static bool gql_check_unique(gql_parser_t *p, gql_name_t **names, size_t n, size_t stride,
                             const char *what)
{
    uint64_t gen = ++p->doc->gen;
    for (size_t i = 0; i < n; i++) {
        gql_name_t *nm = names[i * stride];
        if (nm->mark == gen)
            return gql_syntax(p, p->tok.start, "There can be only one %s named \"%.*s\"", what,
                              gql_clip(nm->s, nm->len, GQL_MSG_CLIP), nm->s);
        nm->mark = gen;
    }
    return true;
}

static struct gql_value *gql_parse_value(gql_parser_t *p, bool is_const);

static bool gql_parse_list_value(gql_parser_t *p, struct gql_value *v, bool is_const)
{
    size_t base = gql_stack_top(p);
    if (!gql_enter(p) || !gql_next(p)) return false;
    while (p->tok.kind != T_RBRACKET) {
        struct gql_value *item = gql_parse_value(p, is_const);
        if (!item || !gql_push(p, item)) return false;
    }
    p->depth--;
    void **items;
    if (!gql_pop_array(p, base, &items, &v->n)) return false;
    v->items = (struct gql_value **)items;
    return gql_next(p);
}

static bool gql_parse_object_value(gql_parser_t *p, struct gql_value *v, bool is_const)
{
    size_t base = gql_stack_top(p);
    if (!gql_enter(p) || !gql_next(p)) return false;
    while (p->tok.kind != T_RBRACE) {
        gql_name_t *key = gql_expect_name(p);
        if (!key || !gql_expect(p, T_COLON)) return false;
        struct gql_value *val = gql_parse_value(p, is_const);
        if (!val || !gql_push(p, key) || !gql_push(p, val)) return false;
    }
    p->depth--;
    void **pairs;
    size_t n2;
    if (!gql_pop_array(p, base, &pairs, &n2)) return false;
    v->n = n2 / 2;
    v->keys = gql_alloc(p->doc, v->n * sizeof *v->keys);
    v->items = gql_alloc(p->doc, v->n * sizeof *v->items);
    if (!v->keys || !v->items) return gql_oom(p->doc);
    for (size_t i = 0; i < v->n; i++) {
        v->keys[i] = pairs[2 * i];
        v->items[i] = pairs[2 * i + 1];
    }
    return gql_check_unique(p, v->keys, v->n, 1, "input field") && gql_next(p);
}

static char *gql_copy_span(gql_parser_t *p, const char *s, size_t len)
{
    char *c = gql_alloc(p->doc, len + 1);
    if (!c) return NULL;
    memcpy(c, s, len);
    c[len] = 0;
    return c;
}

static struct gql_value *gql_parse_value(gql_parser_t *p, bool is_const)
{
    struct gql_value *v = gql_zalloc(p->doc, sizeof *v);
    if (!v) {
        gql_oom(p->doc);
        return NULL;
    }
    v->line = p->tok.line;
    v->col = p->tok.col;
    bool ok = true;
    switch (p->tok.kind) {
    case T_DOLLAR:
        if (is_const) {
            const char *at = p->tok.start;
            if (!gql_next(p)) return NULL;
            gql_name_t *nm = p->tok.kind == T_NAME ? p->tok.name : NULL;
            gql_syntax(p, at, "Unexpected variable \"$%.*s\" in constant value",
                       nm ? gql_clip(nm->s, nm->len, GQL_MSG_CLIP) : 0, nm ? nm->s : "");
            return NULL;
        }
        v->kind = GQL_V_VAR;
        ok = gql_next(p) && (v->name = gql_expect_name(p)) != NULL;
        break;
    case T_LBRACKET:
        v->kind = GQL_V_LIST;
        ok = gql_parse_list_value(p, v, is_const);
        break;
    case T_LBRACE:
        v->kind = GQL_V_OBJECT;
        ok = gql_parse_object_value(p, v, is_const);
        break;
    case T_INT:
    case T_FLOAT:
        v->kind = p->tok.kind == T_INT ? GQL_V_INT : GQL_V_FLOAT;
        v->str = gql_copy_span(p, p->tok.start, p->tok.len);
        v->len = p->tok.len;
        ok = v->str ? gql_next(p) : gql_oom(p->doc);
        break;
    case T_STRING:
    case T_BLOCK_STRING:
        v->kind = GQL_V_STRING;
        v->str = p->tok.str;
        v->len = p->tok.slen;
        ok = gql_next(p);
        break;
    case T_NAME:
        if (gql_is_keyword(p, "true") || gql_is_keyword(p, "false")) {
            v->kind = GQL_V_BOOL;
            v->b = gql_is_keyword(p, "true");
        } else if (gql_is_keyword(p, "null")) {
            v->kind = GQL_V_NULL;
        } else {
            v->kind = GQL_V_ENUM;
            v->name = p->tok.name;
        }
        ok = gql_next(p);
        break;
    default:
        ok = gql_unexpected(p);
    }
    v->size = 1;
    for (size_t i = 0; ok && i < v->n; i++)
        v->size += v->items[i]->size;
    return ok ? v : NULL;
}

static bool gql_parse_arguments(gql_parser_t *p, bool is_const, gql_arg_t **args, size_t *nargs)
{
    *args = NULL;
    *nargs = 0;
    if (p->tok.kind != T_LPAREN) return true;
    size_t base = gql_stack_top(p);
    if (!gql_next(p)) return false;
    do {
        gql_name_t *nm = gql_expect_name(p);
        if (!nm || !gql_expect(p, T_COLON)) return false;
        struct gql_value *v = gql_parse_value(p, is_const);
        if (!v || !gql_push(p, nm) || !gql_push(p, v)) return false;
    } while (p->tok.kind != T_RPAREN);
    void **pairs;
    size_t n2;
    if (!gql_pop_array(p, base, &pairs, &n2)) return false;
    *nargs = n2 / 2;
    *args = gql_alloc(p->doc, *nargs * sizeof **args);
    if (!*args) return gql_oom(p->doc);
    for (size_t i = 0; i < *nargs; i++) {
        (*args)[i].name = ((gql_name_t *)pairs[2 * i])->s;
        (*args)[i].value = pairs[2 * i + 1];
    }
    return gql_check_unique(p, (gql_name_t **)pairs, *nargs, 2, "argument") && gql_next(p);
}

static bool gql_parse_directives(gql_parser_t *p, bool is_const, gql_dir_t **dirs, size_t *n)
{
    size_t base = gql_stack_top(p);
    while (p->tok.kind == T_AT) {
        gql_dir_t *d = gql_zalloc(p->doc, sizeof *d);
        if (!d) return gql_oom(p->doc);
        if (!gql_next(p) || !(d->name = gql_expect_name(p)) ||
            !gql_parse_arguments(p, is_const, &d->args, &d->nargs) || !gql_push(p, d))
            return false;
    }
    void **ptrs;
    if (!gql_pop_array(p, base, &ptrs, n)) return false;
    *dirs = NULL;
    if (*n) {
        *dirs = gql_alloc(p->doc, *n * sizeof **dirs);
        if (!*dirs) return gql_oom(p->doc);
        for (size_t i = 0; i < *n; i++)
            (*dirs)[i] = *(gql_dir_t *)ptrs[i];
    }
    return true;
}

static size_t gql_args_cost(const gql_arg_t *args, size_t n)
{
    size_t cost = n;
    for (size_t i = 0; i < n; i++)
        cost += args[i].value->size;
    return cost;
}

static size_t gql_dirs_cost(const gql_dir_t *dirs, size_t n)
{
    size_t cost = n;
    for (size_t i = 0; i < n; i++)
        cost += gql_args_cost(dirs[i].args, dirs[i].nargs);
    return cost;
}

static gql_selset_t *gql_parse_selection_set(gql_parser_t *p);

static gql_sel_t *gql_parse_selection(gql_parser_t *p)
{
    gql_sel_t *s = gql_zalloc(p->doc, sizeof *s);
    if (!s) {
        gql_oom(p->doc);
        return NULL;
    }
    s->line = p->tok.line;
    s->col = p->tok.col;
    if (p->tok.kind == T_SPREAD) {
        if (!gql_next(p)) return NULL;
        if (p->tok.kind == T_NAME && !gql_is_keyword(p, "on")) {
            s->kind = GQL_SEL_SPREAD;
            s->name = p->tok.name;
            s->next_spread = p->spreads;
            p->spreads = s;
            if (!gql_next(p) || !gql_parse_directives(p, false, &s->dirs, &s->ndirs)) return NULL;
            s->dircost = gql_dirs_cost(s->dirs, s->ndirs);
            return s;
        }
        s->kind = GQL_SEL_INLINE;
        if (gql_is_keyword(p, "on") && (!gql_next(p) || !(s->name = gql_expect_name(p))))
            return NULL;
        if (!gql_parse_directives(p, false, &s->dirs, &s->ndirs) ||
            !(s->set = gql_parse_selection_set(p)))
            return NULL;
        s->dircost = gql_dirs_cost(s->dirs, s->ndirs);
        return s;
    }
    s->kind = GQL_SEL_FIELD;
    if (!(s->name = gql_expect_name(p))) return NULL;
    if (p->tok.kind == T_COLON) {
        s->alias = s->name;
        if (!gql_next(p) || !(s->name = gql_expect_name(p))) return NULL;
    }
    if (!gql_parse_arguments(p, false, &s->args, &s->nargs) ||
        !gql_parse_directives(p, false, &s->dirs, &s->ndirs))
        return NULL;
    s->dircost = gql_dirs_cost(s->dirs, s->ndirs);
    s->argcost = gql_args_cost(s->args, s->nargs);
    if (p->tok.kind == T_LBRACE && !(s->set = gql_parse_selection_set(p))) return NULL;
    return s;
}

static gql_selset_t *gql_parse_selection_set(gql_parser_t *p)
{
    size_t base = gql_stack_top(p);
    if (p->tok.kind != T_LBRACE) {
        gql_expect(p, T_LBRACE);
        return NULL;
    }
    if (!gql_enter(p) || !gql_next(p)) return NULL;
    do {
        gql_sel_t *s = gql_parse_selection(p);
        if (!s || !gql_push(p, s)) return NULL;
    } while (p->tok.kind != T_RBRACE);
    p->depth--;
    gql_selset_t *set = gql_alloc(p->doc, sizeof *set);
    void **items;
    if (!set || !gql_pop_array(p, base, &items, &set->n)) {
        gql_oom(p->doc);
        return NULL;
    }
    set->items = (gql_sel_t **)items;
    return gql_next(p) ? set : NULL;
}

static gql_type_t *gql_parse_type(gql_parser_t *p)
{
    gql_type_t *t = gql_zalloc(p->doc, sizeof *t);
    if (!t) {
        gql_oom(p->doc);
        return NULL;
    }
    if (p->tok.kind == T_LBRACKET) {
        t->kind = GQL_TYPE_LIST;
        if (!gql_enter(p) || !gql_next(p) || !(t->of = gql_parse_type(p)) ||
            !gql_expect(p, T_RBRACKET))
            return NULL;
        p->depth--;
    } else {
        t->kind = GQL_TYPE_NAMED;
        if (!(t->name = gql_expect_name(p))) return NULL;
    }
    if (p->tok.kind != T_BANG) return t;
    gql_type_t *nn = gql_zalloc(p->doc, sizeof *nn);
    if (!nn) {
        gql_oom(p->doc);
        return NULL;
    }
    nn->kind = GQL_TYPE_NONNULL;
    nn->of = t;
    return gql_next(p) ? nn : NULL;
}

static bool gql_parse_variable_definitions(gql_parser_t *p, gql_opdef_t *op)
{
    if (p->tok.kind != T_LPAREN) return true;
    size_t base = gql_stack_top(p);
    if (!gql_next(p)) return false;
    do {
        gql_vardef_t *d = gql_zalloc(p->doc, sizeof *d);
        if (!d) return gql_oom(p->doc);
        d->line = p->tok.line;
        d->col = p->tok.col;
        gql_dir_t *dirs;
        size_t ndirs;
        if (!gql_expect(p, T_DOLLAR) || !(d->name = gql_expect_name(p)) ||
            !gql_expect(p, T_COLON) || !(d->type = gql_parse_type(p)))
            return false;
        if (p->tok.kind == T_EQUALS && (!gql_next(p) || !(d->def = gql_parse_value(p, true))))
            return false;
        if (!gql_parse_directives(p, true, &dirs, &ndirs) || !gql_push(p, d)) return false;
    } while (p->tok.kind != T_RPAREN);
    void **ptrs;
    if (!gql_pop_array(p, base, &ptrs, &op->nvars)) return false;
    op->vars = gql_alloc(p->doc, op->nvars * sizeof *op->vars);
    if (!op->vars) return gql_oom(p->doc);
    for (size_t i = 0; i < op->nvars; i++)
        op->vars[i] = *(gql_vardef_t *)ptrs[i];
    return gql_next(p);
}

static bool gql_parse_operation(gql_parser_t *p)
{
    gql_opdef_t *op = gql_zalloc(p->doc, sizeof *op);
    if (!op) return gql_oom(p->doc);
    op->line = p->tok.line;
    op->col = p->tok.col;
    const char *at = p->tok.start;
    if (p->tok.kind == T_NAME) {
        op->kind = gql_is_keyword(p, "mutation")       ? GQL_MUTATION
                   : gql_is_keyword(p, "subscription") ? GQL_SUBSCRIPTION
                                                       : GQL_QUERY;
        if (!gql_next(p)) return false;
        if (p->tok.kind == T_NAME) {
            op->name = p->tok.name;
            if (!gql_next(p)) return false;
        }
        if (!gql_parse_variable_definitions(p, op) ||
            !gql_parse_directives(p, false, &op->dirs, &op->ndirs))
            return false;
    }
    if (!(op->set = gql_parse_selection_set(p))) return false;
    if (op->name) {
        if (op->name->op)
            return gql_syntax(p, at, "There can be only one operation named \"%.*s\"",
                              gql_clip(op->name->s, op->name->len, GQL_MSG_CLIP), op->name->s);
        op->name->op = op;
    }
    *p->doc->ops_tail = op;
    p->doc->ops_tail = &op->next;
    p->doc->nops++;
    return true;
}

static bool gql_parse_fragment(gql_parser_t *p)
{
    gql_frag_t *f = gql_zalloc(p->doc, sizeof *f);
    if (!f) return gql_oom(p->doc);
    f->line = p->tok.line;
    f->col = p->tok.col;
    const char *at = p->tok.start;
    if (!gql_next(p)) return false;
    if (gql_is_keyword(p, "on")) return gql_unexpected(p);
    if (!(f->name = gql_expect_name(p))) return false;
    if (!gql_is_keyword(p, "on")) {
        char d[128];
        gql_tok_desc(&p->tok, d, sizeof d);
        return gql_syntax(p, p->tok.start, "Expected \"on\", found %s", d);
    }
    if (!gql_next(p) || !(f->type = gql_expect_name(p)) ||
        !gql_parse_directives(p, false, &f->dirs, &f->ndirs) ||
        !(f->set = gql_parse_selection_set(p)))
        return false;
    if (f->name->frag)
        return gql_syntax(p, at, "There can be only one fragment named \"%.*s\"",
                          gql_clip(f->name->s, f->name->len, GQL_MSG_CLIP), f->name->s);
    f->name->frag = f;
    f->next = p->doc->frags;
    p->doc->frags = f;
    return true;
}

static bool gql_parse_document(gql_parser_t *p)
{
    if (!gql_next(p)) return false;
    if (p->tok.kind == T_EOF) return gql_unexpected(p);
    while (p->tok.kind != T_EOF) {
        bool ok;
        if (p->tok.kind == T_LBRACE || gql_is_keyword(p, "query") ||
            gql_is_keyword(p, "mutation") || gql_is_keyword(p, "subscription"))
            ok = gql_parse_operation(p);
        else if (gql_is_keyword(p, "fragment"))
            ok = gql_parse_fragment(p);
        else
            ok = gql_unexpected(p);
        if (!ok) return false;
    }
    for (gql_opdef_t *op = p->doc->ops; op; op = op->next) {
        if (!op->name && p->doc->nops > 1) {
            gql_errf(p->doc, "This anonymous operation must be the only defined operation at %u:%u",
                     op->line, op->col);
            return false;
        }
    }
    for (gql_sel_t *s = p->spreads; s; s = s->next_spread) {
        s->frag = s->name->frag;
        if (!s->frag) {
            gql_errf(p->doc, "Unknown fragment \"%.*s\" at %u:%u",
                     gql_clip(s->name->s, s->name->len, GQL_MSG_CLIP), s->name->s, s->line, s->col);
            return false;
        }
    }
    return true;
}

gql_doc_t *gql_parse(const char *src, size_t len, const gql_limits_t *lim, char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!src) {
        src = "";
        len = 0;
    }
    gql_doc_t *doc = calloc(1, sizeof *doc);
    if (!doc) {
        if (err && errlen)
            snprintf(err, errlen, "Out of memory while parsing the GraphQL document");
        return NULL;
    }
    doc->max_bytes = lim && lim->max_bytes ? lim->max_bytes : GQL_DEFAULT_MAX_BYTES;
    doc->max_nodes = lim && lim->max_nodes ? lim->max_nodes : GQL_DEFAULT_MAX_NODES;
    doc->max_depth = lim && lim->max_depth > 0 ? lim->max_depth : GQL_DEFAULT_MAX_DEPTH;
    if (doc->max_depth > GQL_HARD_MAX_DEPTH) doc->max_depth = GQL_HARD_MAX_DEPTH;
    doc->err = err;
    doc->errlen = errlen;
    doc->ops_tail = &doc->ops;
    /* A secret seed keeps crafted names from colliding into one long probe chain. */
    if (getrandom(&doc->seed, sizeof doc->seed, GRND_NONBLOCK) != sizeof doc->seed)
        doc->seed = (uint64_t)(uintptr_t)doc ^ (uint64_t)clock();

    gql_parser_t p = {
        .doc = doc, .src = src, .end = src + len, .pos = src, .line_start = src, .line = 1};
    buf_init(&p.stack);
    size_t bad;
    bool ok;
    if (len > doc->max_bytes) {
        gql_errf(doc, "GraphQL document of %zu bytes exceeds the limit of %zu bytes", len,
                 doc->max_bytes);
        ok = false;
    } else if (!gql_utf8_valid((const unsigned char *)src, len, &bad)) {
        ok = gql_syntax(&p, src + bad, "Invalid UTF-8");
    } else {
        ok = gql_parse_document(&p);
    }
    buf_free(&p.stack);
    doc->err = NULL;
    doc->errlen = 0;
    if (!ok) {
        gql_free(doc);
        return NULL;
    }
    return doc;
}

void gql_free(gql_doc_t *doc)
{
    if (!doc) return;
    json_decref(doc->vars);
    for (gql_chunk_t *c = doc->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(doc);
}

/* ---- values ---- */

static json_t *gql_value_json(const gql_doc_t *doc, const struct gql_value *v)
{
    json_t *j;
    switch (v->kind) {
    case GQL_V_VAR:
        j = doc->vars ? json_object_get(doc->vars, v->name->s) : NULL;
        return j ? json_incref(j) : NULL;
    case GQL_V_INT: {
        errno = 0;
        json_int_t x = strtoll(v->str, NULL, 10);
        if (errno != ERANGE) return json_integer(x);
        return json_real(strtod(v->str, NULL)); /* beyond 64 bits: keep it as a number */
    }
    case GQL_V_FLOAT: {
        /* JSON has no infinity; 1e999 is as meaningless to the server as null. */
        double d = strtod(v->str, NULL);
        return isfinite(d) ? json_real(d) : json_null();
    }
    case GQL_V_STRING:
        return json_stringn(v->str, v->len);
    case GQL_V_BOOL:
        return json_boolean(v->b);
    case GQL_V_NULL:
        return json_null();
    case GQL_V_ENUM:
        return json_string(v->name->s);
    case GQL_V_LIST:
        j = json_array();
        for (size_t i = 0; j && i < v->n; i++) {
            json_t *item = gql_value_json(doc, v->items[i]);
            /* A list element naming an absent variable becomes null, as the spec coerces it. */
            if (json_array_append_new(j, item ? item : json_null()) < 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case GQL_V_OBJECT:
        j = json_object();
        for (size_t i = 0; j && i < v->n; i++) {
            json_t *item = gql_value_json(doc, v->items[i]);
            if (item && json_object_set_new(j, v->keys[i]->s, item) < 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    }
    return NULL;
}

json_t *gql_arg_json(gql_doc_t *doc, const gql_field_t *f, const char *arg_name)
{
    for (size_t i = 0; i < f->nargs; i++)
        if (strcmp(f->args[i].name, arg_name) == 0) return gql_value_json(doc, f->args[i].value);
    return NULL;
}

const char *gql_field_key(const gql_field_t *f)
{
    return f->alias ? f->alias : f->name;
}

/* ---- operation preparation ---- */

static void gql_type_put(const gql_type_t *t, char *out, size_t outlen, size_t *pos)
{
    const char *s = t->kind == GQL_TYPE_NAMED ? t->name->s : t->kind == GQL_TYPE_LIST ? "[" : "";
    for (; *s && *pos + 1 < outlen; s++)
        out[(*pos)++] = *s;
    if (t->kind != GQL_TYPE_NAMED) gql_type_put(t->of, out, outlen, pos);
    s = t->kind == GQL_TYPE_LIST ? "]" : t->kind == GQL_TYPE_NONNULL ? "!" : "";
    for (; *s && *pos + 1 < outlen; s++)
        out[(*pos)++] = *s;
    out[*pos] = 0;
}

/* The type as written, e.g. [String!]!, for messages. */
static void gql_type_str(const gql_type_t *t, char *out, size_t outlen)
{
    size_t pos = 0;
    gql_type_put(t, out, outlen, &pos);
}

static const char *gql_op_label(const gql_opdef_t *op, char *buf, size_t len)
{
    if (!op->name) return "";
    snprintf(buf, len, " by operation \"%.*s\"", gql_clip(op->name->s, op->name->len, GQL_MSG_CLIP),
             op->name->s);
    return buf;
}

static bool gql_check_value_vars(gql_doc_t *doc, const gql_opdef_t *op, const struct gql_value *v)
{
    if (v->kind == GQL_V_VAR && v->name->var_mark != doc->prep) {
        char label[128];
        gql_errf(doc, "Variable \"$%.*s\" is not defined%s at %u:%u",
                 gql_clip(v->name->s, v->name->len, GQL_MSG_CLIP), v->name->s,
                 gql_op_label(op, label, sizeof label), v->line, v->col);
        return false;
    }
    for (size_t i = 0; i < v->n; i++)
        if ((v->kind == GQL_V_LIST || v->kind == GQL_V_OBJECT) &&
            !gql_check_value_vars(doc, op, v->items[i]))
            return false;
    return true;
}

static bool gql_check_args(gql_doc_t *doc, const gql_opdef_t *op, const gql_arg_t *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!gql_check_value_vars(doc, op, args[i].value)) return false;
    return true;
}

static bool gql_check_dirs(gql_doc_t *doc, const gql_opdef_t *op, const gql_dir_t *dirs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!gql_check_args(doc, op, dirs[i].args, dirs[i].nargs)) return false;
    return true;
}

/* Static walk of everything the operation can reach, skipped branches included, as the spec's
 * validation does: variables must be defined and fragments must not spread themselves. Each
 * fragment is walked once, so this is linear in the document. */
static bool gql_check_set(gql_doc_t *doc, const gql_opdef_t *op, const gql_selset_t *set, int depth)
{
    if (depth > doc->max_depth) {
        const gql_sel_t *s = set->items[0];
        gql_errf(doc, "Selections nest deeper than the limit of %d at %u:%u", doc->max_depth,
                 s->line, s->col);
        return false;
    }
    for (size_t i = 0; i < set->n; i++) {
        const gql_sel_t *s = set->items[i];
        if (!gql_check_dirs(doc, op, s->dirs, s->ndirs)) return false;
        if (s->kind == GQL_SEL_FIELD && !gql_check_args(doc, op, s->args, s->nargs)) return false;
        if (s->kind != GQL_SEL_SPREAD) {
            if (s->set && !gql_check_set(doc, op, s->set, depth + 1)) return false;
            continue;
        }
        gql_frag_t *f = s->frag;
        if (f->state == 1) {
            gql_errf(doc, "Cannot spread fragment \"%.*s\" within itself at %u:%u",
                     gql_clip(f->name->s, f->name->len, GQL_MSG_CLIP), f->name->s, s->line, s->col);
            return false;
        }
        if (f->state == 0) {
            f->state = 1;
            if (!gql_check_dirs(doc, op, f->dirs, f->ndirs) ||
                !gql_check_set(doc, op, f->set, depth + 1))
                return false;
            f->state = 2;
        }
    }
    return true;
}

/* Coerces one provided variable value; returns a new reference or NULL after setting err. */
static json_t *gql_coerce(gql_doc_t *doc, const gql_vardef_t *d, const gql_type_t *t, json_t *v)
{
    char want[128];
    if (t->kind == GQL_TYPE_NONNULL) {
        if (json_is_null(v)) {
            gql_type_str(d->type, want, sizeof want);
            gql_errf(doc, "Variable \"$%.*s\" of non-null type \"%s\" must not be null",
                     gql_clip(d->name->s, d->name->len, GQL_MSG_CLIP), d->name->s, want);
            return NULL;
        }
        return gql_coerce(doc, d, t->of, v);
    }
    if (json_is_null(v)) return json_null();
    if (t->kind == GQL_TYPE_LIST) {
        json_t *out = json_array();
        if (!out) return NULL;
        if (!json_is_array(v)) {
            /* Input coercion wraps a single value into a one-element list. */
            json_t *item = gql_coerce(doc, d, t->of, v);
            if (!item || json_array_append_new(out, item) < 0) {
                json_decref(out);
                return NULL;
            }
            return out;
        }
        size_t i;
        json_t *el;
        json_array_foreach(v, i, el)
        {
            json_t *item = gql_coerce(doc, d, t->of, el);
            if (!item || json_array_append_new(out, item) < 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    const char *tn = t->name->s;
    bool ok = true;
    if (strcmp(tn, "String") == 0) {
        ok = json_is_string(v);
    } else if (strcmp(tn, "Boolean") == 0) {
        ok = json_is_boolean(v);
    } else if (strcmp(tn, "Float") == 0) {
        ok = json_is_number(v);
    } else if (strcmp(tn, "Int") == 0) {
        double x = json_number_value(v);
        ok = json_is_number(v) && x >= INT32_MIN && x <= INT32_MAX && (double)(int32_t)x == x;
        if (ok && json_is_real(v)) return json_integer((json_int_t)x);
    } else if (strcmp(tn, "ID") == 0) {
        ok = json_is_string(v) || json_is_integer(v);
        if (json_is_integer(v)) return json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    if (!ok) {
        gql_type_str(d->type, want, sizeof want);
        gql_errf(doc, "Variable \"$%.*s\" of type \"%s\" got an invalid value: expected %.*s",
                 gql_clip(d->name->s, d->name->len, GQL_MSG_CLIP), d->name->s, want,
                 gql_clip(tn, t->name->len, GQL_MSG_CLIP), tn);
        return NULL;
    }
    return json_incref(v);
}

static bool gql_coerce_variables(gql_doc_t *doc, const gql_opdef_t *op, json_t *given)
{
    json_decref(doc->vars);
    doc->vars = json_object();
    if (!doc->vars) return gql_oom(doc);
    if (given && !json_is_object(given) && !json_is_null(given)) {
        gql_errf(doc, "Variables must be provided as an object");
        return false;
    }
    for (size_t i = 0; i < op->nvars; i++) {
        const gql_vardef_t *d = &op->vars[i];
        json_t *v = json_is_object(given) ? json_object_get(given, d->name->s) : NULL;
        json_t *c;
        if (v) {
            c = gql_coerce(doc, d, d->type, v);
        } else if (d->def) {
            json_t *def = gql_value_json(doc, d->def);
            c = def ? gql_coerce(doc, d, d->type, def) : NULL;
            json_decref(def);
        } else if (d->type->kind == GQL_TYPE_NONNULL) {
            char want[128];
            gql_type_str(d->type, want, sizeof want);
            gql_errf(doc, "Variable \"$%.*s\" of required type \"%s\" was not provided",
                     gql_clip(d->name->s, d->name->len, GQL_MSG_CLIP), d->name->s, want);
            return false;
        } else {
            continue;
        }
        if (!c || json_object_set_new(doc->vars, d->name->s, c) < 0)
            return c ? gql_oom(doc) : false;
    }
    return true;
}

static bool gql_spend(gql_doc_t *doc, size_t units)
{
    if (doc->budget < units) {
        gql_errf(doc, "Query is too complex: it expands past the limit of %zu nodes",
                 doc->max_nodes);
        return false;
    }
    doc->budget -= units;
    return true;
}

/* Evaluates @skip and @include; other directives are the server's to ignore. */
static bool gql_included(gql_doc_t *doc, const gql_dir_t *dirs, size_t n, bool *include,
                         unsigned line, unsigned col)
{
    *include = true;
    for (size_t i = 0; i < n; i++) {
        bool skip = strcmp(dirs[i].name->s, "skip") == 0;
        if (!skip && strcmp(dirs[i].name->s, "include") != 0) continue;
        const struct gql_value *v = NULL;
        for (size_t k = 0; k < dirs[i].nargs; k++)
            if (strcmp(dirs[i].args[k].name, "if") == 0) v = dirs[i].args[k].value;
        json_t *j =
            v && v->kind == GQL_V_VAR && doc->vars ? json_object_get(doc->vars, v->name->s) : NULL;
        bool cond;
        if (v && v->kind == GQL_V_BOOL)
            cond = v->b;
        else if (json_is_boolean(j))
            cond = json_is_true(j);
        else {
            gql_errf(doc, "Directive \"@%s\" needs a Boolean argument \"if\" at %u:%u",
                     dirs[i].name->s, line, col);
            return false;
        }
        if (cond == skip) *include = false;
    }
    return true;
}

/* 1 equal, 0 different, -1 out of budget (comparing is work a hostile document can multiply). */
static int gql_values_equal(gql_doc_t *doc, const struct gql_value *a, const struct gql_value *b)
{
    if (!gql_spend(doc, 1)) return -1;
    if (a->kind != b->kind || a->n != b->n) return 0;
    switch (a->kind) {
    case GQL_V_VAR:
    case GQL_V_ENUM:
        return a->name == b->name;
    case GQL_V_INT:
    case GQL_V_FLOAT:
    case GQL_V_STRING:
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    case GQL_V_BOOL:
        return a->b == b->b;
    case GQL_V_NULL:
        return 1;
    case GQL_V_LIST:
    case GQL_V_OBJECT:
        /* Object fields compare in source order: reordered but equal objects are reported as
         * a conflict, which only costs the client an alias. */
        for (size_t i = 0; i < a->n; i++) {
            if (a->keys && a->keys[i] != b->keys[i]) return 0;
            int eq = gql_values_equal(doc, a->items[i], b->items[i]);
            if (eq != 1) return eq;
        }
        return 1;
    }
    return 0;
}

static int gql_args_equal(gql_doc_t *doc, const gql_sel_t *a, const gql_sel_t *b)
{
    if (a->nargs != b->nargs) return 0;
    if (!gql_spend(doc, a->nargs)) return -1;
    uint64_t gen = ++doc->gen;
    for (size_t i = 0; i < a->nargs; i++) {
        gql_name_t *nm = gql_name_of(a->args[i].name);
        nm->mark = gen;
        nm->slot = a->args[i].value;
    }
    for (size_t i = 0; i < b->nargs; i++) {
        gql_name_t *nm = gql_name_of(b->args[i].name);
        if (nm->mark != gen) return 0;
        int eq = gql_values_equal(doc, nm->slot, b->args[i].value);
        if (eq != 1) return eq;
    }
    return 1;
}

typedef struct gql_entry {
    const gql_sel_t *field;
    struct gql_entry *next;
} gql_entry_t;

typedef struct gql_group {
    gql_entry_t *first, *last;
    size_t n;
    struct gql_group *next;
} gql_group_t;

typedef struct {
    uint64_t gen;
    gql_group_t *first, *last;
    size_t n;
} gql_groups_t;

/* The spec's CollectFields: groups fields by response key across fragments at one level, and
 * visits each fragment at most once per level. Uses marks of generation g->gen only; nothing
 * else runs until the level is collected, so the marks stay valid. */
static bool gql_collect_set(gql_doc_t *doc, gql_groups_t *g, const gql_selset_t *set, int depth)
{
    if (depth > doc->max_depth) {
        gql_errf(doc, "Selections nest deeper than the limit of %d at %u:%u", doc->max_depth,
                 set->items[0]->line, set->items[0]->col);
        return false;
    }
    for (size_t i = 0; i < set->n; i++) {
        const gql_sel_t *s = set->items[i];
        bool include;
        if (!gql_spend(doc, 1 + s->dircost) ||
            !gql_included(doc, s->dirs, s->ndirs, &include, s->line, s->col))
            return false;
        if (!include) continue;
        if (s->kind == GQL_SEL_INLINE) {
            if (!gql_collect_set(doc, g, s->set, depth + 1)) return false;
            continue;
        }
        if (s->kind == GQL_SEL_SPREAD) {
            if (s->frag->mark == g->gen) continue;
            s->frag->mark = g->gen;
            if (!gql_collect_set(doc, g, s->frag->set, depth + 1)) return false;
            continue;
        }
        gql_name_t *key = s->alias ? s->alias : s->name;
        gql_group_t *grp = key->mark == g->gen ? key->slot : NULL;
        gql_entry_t *e = gql_alloc(doc, sizeof *e);
        if (!grp) {
            grp = gql_zalloc(doc, sizeof *grp);
            if (!grp || !e) return gql_oom(doc);
            key->mark = g->gen;
            key->slot = grp;
            if (g->last)
                g->last->next = grp;
            else
                g->first = grp;
            g->last = grp;
            g->n++;
        }
        if (!e) return gql_oom(doc);
        e->field = s;
        e->next = NULL;
        if (grp->last)
            grp->last->next = e;
        else
            grp->first = e;
        grp->last = e;
        grp->n++;
    }
    return true;
}

static bool gql_flatten(gql_doc_t *doc, const gql_selset_t *const *sets, size_t nsets, int depth,
                        gql_field_t ***out, size_t *nout);

/* Builds one response field from every occurrence of its key, merging their sub-selections. */
static gql_field_t *gql_merge_group(gql_doc_t *doc, const gql_group_t *grp, int depth)
{
    const gql_sel_t *a = grp->first->field;
    const char *key = a->alias ? a->alias->s : a->name->s;
    for (const gql_entry_t *e = grp->first->next; e; e = e->next) {
        const gql_sel_t *b = e->field;
        const char *why = NULL;
        int eq = b->name == a->name ? gql_args_equal(doc, a, b) : 1;
        if (eq < 0) return NULL;
        if (b->name != a->name)
            why = "they are different fields";
        else if (!eq)
            why = "they have differing arguments";
        else if ((b->set == NULL) != (a->set == NULL))
            why = "only one of them has subfields";
        if (why) {
            gql_errf(doc, "Fields \"%.*s\" conflict because %s at %u:%u",
                     gql_clip(key, strlen(key), GQL_MSG_CLIP), key, why, b->line, b->col);
            return NULL;
        }
    }
    /* Arguments are charged with the field: the server reads each one with gql_arg_json. */
    gql_field_t *f = gql_zalloc(doc, sizeof *f);
    if (!f || !gql_spend(doc, 1 + a->argcost)) {
        if (!f) gql_oom(doc);
        return NULL;
    }
    f->alias = a->alias ? a->alias->s : NULL;
    f->name = a->name->s;
    f->args = a->args;
    f->nargs = a->nargs;
    f->line = a->line;
    f->col = a->col;
    if (!a->set) return f;
    f->has_selection = true;
    const gql_selset_t **sets = gql_alloc(doc, grp->n * sizeof *sets);
    if (!sets) {
        gql_oom(doc);
        return NULL;
    }
    size_t i = 0;
    for (const gql_entry_t *e = grp->first; e; e = e->next)
        sets[i++] = e->field->set;
    return gql_flatten(doc, sets, grp->n, depth + 1, &f->fields, &f->nfields) ? f : NULL;
}

static bool gql_flatten(gql_doc_t *doc, const gql_selset_t *const *sets, size_t nsets, int depth,
                        gql_field_t ***out, size_t *nout)
{
    gql_groups_t g = {.gen = ++doc->gen};
    for (size_t i = 0; i < nsets; i++)
        if (!gql_collect_set(doc, &g, sets[i], depth)) return false;
    *nout = g.n;
    *out = gql_alloc(doc, (g.n ? g.n : 1) * sizeof **out);
    if (!*out) return gql_oom(doc);
    size_t i = 0;
    for (const gql_group_t *grp = g.first; grp; grp = grp->next)
        if (!((*out)[i++] = gql_merge_group(doc, grp, depth))) return false;
    return true;
}

static gql_opdef_t *gql_pick_operation(gql_doc_t *doc, const char *name)
{
    if (name && *name) {
        for (gql_opdef_t *op = doc->ops; op; op = op->next)
            if (op->name && strcmp(op->name->s, name) == 0) return op;
        gql_errf(doc, "Unknown operation named \"%.*s\"",
                 gql_clip(name, strlen(name), GQL_MSG_CLIP), name);
        return NULL;
    }
    if (doc->nops == 1) return doc->ops;
    gql_errf(doc, doc->nops ? "Must provide operation name if query contains multiple operations"
                            : "Must provide an operation");
    return NULL;
}

int gql_prepare(gql_doc_t *doc, const char *operation_name, json_t *variables, gql_op_t *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen) err[0] = 0;
    doc->err = err;
    doc->errlen = errlen;
    bool ok = false;
    gql_opdef_t *op = gql_pick_operation(doc, operation_name);
    if (!op) goto done;
    doc->prep++;
    for (size_t i = 0; i < op->nvars; i++) {
        gql_vardef_t *d = &op->vars[i];
        if (d->name->var_mark == doc->prep) {
            gql_errf(doc, "There can be only one variable named \"$%.*s\" at %u:%u",
                     gql_clip(d->name->s, d->name->len, GQL_MSG_CLIP), d->name->s, d->line, d->col);
            goto done;
        }
        d->name->var_mark = doc->prep;
    }
    for (gql_frag_t *f = doc->frags; f; f = f->next)
        f->state = 0;
    if (!gql_check_dirs(doc, op, op->dirs, op->ndirs) || !gql_check_set(doc, op, op->set, 1) ||
        !gql_coerce_variables(doc, op, variables))
        goto done;
    doc->budget = doc->max_nodes;
    const gql_selset_t *root = op->set;
    if (!gql_flatten(doc, &root, 1, 1, &out->fields, &out->nfields)) goto done;
    out->kind = op->kind;
    out->name = op->name ? op->name->s : NULL;
    ok = true;
done:
    if (!ok) memset(out, 0, sizeof *out);
    doc->err = NULL;
    doc->errlen = 0;
    return ok ? 0 : -1;
}
