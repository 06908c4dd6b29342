#include "semver.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Longer ranges than this are not ones Bit writes; they are refused rather than parsed. */
#define RANGE_MAX_LEN 512
#define SET_MAX_COMPARATORS 32

typedef struct {
    unsigned long long num[3];
    const char *pre; /* the prerelease after '-', NULL when none */
    size_t prelen;
} semver_t;

static bool semver_split(const char *s, semver_t *v)
{
    const char *p = s;
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*p))
            return false;
        if (*p == '0' && isdigit((unsigned char)p[1]))
            return false;
        char *end;
        v->num[i] = strtoull(p, &end, 10);
        p = end;
        if (i < 2) {
            if (*p != '.')
                return false;
            p++;
        }
    }
    v->pre = NULL;
    v->prelen = 0;
    if (*p == '-') {
        v->pre = ++p;
        while (*p && *p != '+')
            p++;
        v->prelen = (size_t)(p - v->pre);
        if (!v->prelen)
            return false;
    }
    if (*p == '+')
        while (*++p)
            ;
    return *p == 0;
}

bool semver_valid(const char *s)
{
    semver_t v;
    return strlen(s) < 128 && semver_split(s, &v);
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n > 0;
}

/* Prerelease precedence (semver.org §11): identifier by identifier, numeric ones by value
 * and before alphanumeric ones, and a shorter list first when all else is equal. */
static int pre_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    while (an && bn) {
        const char *da = memchr(a, '.', an), *db = memchr(b, '.', bn);
        size_t la = da ? (size_t)(da - a) : an, lb = db ? (size_t)(db - b) : bn;
        bool na = all_digits(a, la), nb = all_digits(b, lb);
        int c;
        if (na && nb)
            c = la != lb ? (la < lb ? -1 : 1) : memcmp(a, b, la);
        else if (na != nb)
            c = na ? -1 : 1;
        else if ((c = memcmp(a, b, la < lb ? la : lb)) == 0)
            c = (la > lb) - (la < lb);
        if (c)
            return c < 0 ? -1 : 1;
        a += la, an -= la, b += lb, bn -= lb;
        if (an)
            a++, an--;
        if (bn)
            b++, bn--;
    }
    return (an > 0) - (bn > 0);
}

static int sv_cmp(const semver_t *x, const semver_t *y)
{
    for (int i = 0; i < 3; i++)
        if (x->num[i] != y->num[i])
            return x->num[i] < y->num[i] ? -1 : 1;
    if (!x->pre || !y->pre)
        return (x->pre == NULL) - (y->pre == NULL); /* a release sorts after its prereleases */
    return pre_cmp(x->pre, x->prelen, y->pre, y->prelen);
}

int semver_cmp(const char *a, const char *b)
{
    semver_t x, y;
    bool okx = semver_split(a, &x), oky = semver_split(b, &y);
    if (!okx || !oky)
        return okx - oky;
    return sv_cmp(&x, &y);
}

/* ---- ranges */

typedef enum { OP_EQ, OP_GT, OP_GE, OP_LT, OP_LE } op_t;

typedef struct {
    op_t op;
    semver_t v;
} comparator_t;

/* One set of a range: every comparator must hold. */
typedef struct {
    comparator_t c[SET_MAX_COMPARATORS];
    size_t n;
    bool none; /* a comparator nothing satisfies, such as <0 or >* */
} set_t;

/* A version with some parts left out or wildcards (1, 1.2, 1.x, *): n parts are given. */
typedef struct {
    unsigned long long num[3];
    int n;
    const char *pre;
    size_t prelen;
} partial_t;

static bool add(set_t *s, op_t op, unsigned long long maj, unsigned long long min,
                unsigned long long pat, const char *pre, size_t prelen)
{
    if (s->n == SET_MAX_COMPARATORS)
        return false;
    s->c[s->n++] = (comparator_t){op, {{maj, min, pat}, pre, prelen}};
    return true;
}

/* The exclusive upper bound of an x-range "<M+1.0.0-0" or "<M.m+1.0-0" (no prerelease of it). */
static bool below_next(set_t *s, const partial_t *q)
{
    if (q->n == 1)
        return add(s, OP_LT, q->num[0] + 1, 0, 0, "0", 1);
    return add(s, OP_LT, q->num[0], q->num[1] + 1, 0, "0", 1);
}

static bool at_least(set_t *s, const partial_t *q)
{
    return add(s, OP_GE, q->num[0], q->num[1], q->num[2], q->n == 3 ? q->pre : NULL, q->prelen);
}

static bool exact(set_t *s, op_t op, const partial_t *q)
{
    return add(s, op, q->num[0], q->num[1], q->num[2], q->pre, q->prelen);
}

/* ~1.2.3 and ~1.2: the same minor; ~1: the same major */
static bool tilde(set_t *s, const partial_t *q)
{
    partial_t upto = {{q->num[0], q->num[1], 0}, q->n == 1 ? 1 : 2, NULL, 0};
    return at_least(s, q) && below_next(s, &upto);
}

/* ^1.2.3: the same major, or for 0.x the same minor, or for 0.0.x the same patch */
static bool caret(set_t *s, const partial_t *q)
{
    if (!at_least(s, q))
        return false;
    if (q->num[0] > 0 || q->n == 1)
        return add(s, OP_LT, q->num[0] + 1, 0, 0, "0", 1);
    if (q->num[1] > 0 || q->n == 2)
        return add(s, OP_LT, 0, q->num[1] + 1, 0, "0", 1);
    return add(s, OP_LT, 0, 0, q->num[2] + 1, "0", 1);
}

/* node-semver's desugaring of one comparator into plain ones. */
static bool desugar(set_t *s, const char *op, const partial_t *q)
{
    bool full = q->n == 3;
    if (!*op || !strcmp(op, "=")) {
        if (q->n == 0)
            return true;
        return full ? exact(s, OP_EQ, q) : at_least(s, q) && below_next(s, q);
    }
    if (!strcmp(op, "~") || !strcmp(op, "~>"))
        return q->n == 0 || tilde(s, q);
    if (!strcmp(op, "^"))
        return q->n == 0 || caret(s, q);
    if (!strcmp(op, ">=") || !strcmp(op, "<=")) {
        if (q->n == 0)
            return true;
        if (op[0] == '>')
            return at_least(s, q);
        return full ? exact(s, OP_LE, q) : below_next(s, q);
    }
    if (q->n == 0) { /* >* and <* */
        s->none = true;
        return true;
    }
    if (!strcmp(op, ">")) {
        if (full)
            return exact(s, OP_GT, q);
        return q->n == 1 ? add(s, OP_GE, q->num[0] + 1, 0, 0, NULL, 0)
                         : add(s, OP_GE, q->num[0], q->num[1] + 1, 0, NULL, 0);
    }
    if (!strcmp(op, "<"))
        return full ? exact(s, OP_LT, q) : add(s, OP_LT, q->num[0], q->num[1], 0, "0", 1);
    return false;
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    return p;
}

/* Reads a partial version at *pp up to whitespace or end. */
static bool parse_partial(const char **pp, const char *end, partial_t *q)
{
    const char *p = *pp;
    memset(q, 0, sizeof *q);
    if (p < end && (*p == 'v' || *p == 'V'))
        p++;
    bool wild = false;
    for (int i = 0; i < 3 && p < end && !isspace((unsigned char)*p); i++) {
        if (i > 0) {
            if (*p != '.')
                return false;
            p++;
        }
        if (p < end && (*p == 'x' || *p == 'X' || *p == '*')) {
            wild = true;
            p++;
        } else if (p < end && isdigit((unsigned char)*p)) {
            unsigned long long n = 0;
            for (; p < end && isdigit((unsigned char)*p); p++) {
                if (n > 999999999999ULL)
                    return false;
                n = n * 10 + (unsigned long long)(*p - '0');
            }
            if (!wild) {
                q->num[i] = n;
                q->n = i + 1;
            }
        } else {
            return false;
        }
    }
    if (q->n == 3 && p < end && *p == '-') {
        q->pre = ++p;
        while (p < end && (isalnum((unsigned char)*p) || *p == '-' || *p == '.'))
            p++;
        q->prelen = (size_t)(p - q->pre);
        if (!q->prelen)
            return false;
    }
    if (p < end && *p == '+')
        while (p < end && !isspace((unsigned char)*p))
            p++;
    *pp = p;
    return p == end || isspace((unsigned char)*p);
}

/* "A - B": everything from A up to B, where a partial B means up to the end of what it names. */
static bool parse_hyphen(const char *p, const char *end, set_t *s)
{
    partial_t lo, hi;
    if (!parse_partial(&p, end, &lo))
        return false;
    p = skip_space(p, end);
    if (p >= end || *p != '-' || p + 1 >= end || !isspace((unsigned char)p[1]))
        return false;
    p = skip_space(p + 1, end);
    if (!parse_partial(&p, end, &hi) || skip_space(p, end) != end)
        return false;
    if (lo.n > 0 && !at_least(s, &lo))
        return false;
    if (hi.n == 3)
        return exact(s, OP_LE, &hi);
    return hi.n == 0 || below_next(s, &hi);
}

static bool parse_comparators(const char *p, const char *end, set_t *s)
{
    for (p = skip_space(p, end); p < end; p = skip_space(p, end)) {
        char op[3] = "";
        size_t n = 0;
        while (p < end && n < 2 && strchr("<>=~^", *p) && !(n == 1 && op[0] == '^'))
            op[n++] = *p++;
        op[n] = 0;
        p = skip_space(p, end);
        partial_t q;
        if (!parse_partial(&p, end, &q) || !desugar(s, op, &q))
            return false;
    }
    return true;
}

static bool comparator_holds(const comparator_t *c, const semver_t *v)
{
    int r = sv_cmp(v, &c->v);
    switch (c->op) {
    case OP_EQ:
        return r == 0;
    case OP_GT:
        return r > 0;
    case OP_GE:
        return r >= 0;
    case OP_LT:
        return r < 0;
    case OP_LE:
        return r <= 0;
    }
    return false;
}

static bool set_holds(const set_t *s, const semver_t *v)
{
    if (s->none)
        return false;
    for (size_t i = 0; i < s->n; i++)
        if (!comparator_holds(&s->c[i], v))
            return false;
    if (!v->pre)
        return true;
    for (size_t i = 0; i < s->n; i++) {
        const semver_t *b = &s->c[i].v;
        if (b->pre && b->num[0] == v->num[0] && b->num[1] == v->num[1] && b->num[2] == v->num[2])
            return true;
    }
    return false;
}

bool semver_satisfies(const char *version, const char *range)
{
    semver_t v;
    if (!semver_split(version, &v) || strlen(range) > RANGE_MAX_LEN)
        return false;
    bool hit = false;
    const char *p = range, *end = range + strlen(range);
    for (bool last = false; !last;) {
        const char *bar = strstr(p, "||");
        const char *stop = bar ? bar : end;
        last = !bar;
        set_t s = {.n = 0};
        if (!parse_hyphen(p, stop, &s)) {
            s = (set_t){.n = 0};
            if (!parse_comparators(p, stop, &s))
                return false; /* the whole range is invalid, not just this set */
        }
        hit = hit || set_holds(&s, &v);
        p = stop + (bar ? 2 : 0);
    }
    return hit;
}
