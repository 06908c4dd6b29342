#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* K_INTERVAL is a duration and K_CACHE a size where 0 means "off", K_THREADS a count where 0
 * means "one per CPU"; every other number must be positive. */
typedef enum { K_BYTES, K_COUNT, K_SECONDS, K_INTERVAL, K_STRING, K_BOOL, K_CACHE, K_THREADS } kind_t;

static const struct {
    const char *key;
    kind_t kind;
    size_t off;
    size_t len; /* strings: buffer size */
} keys[] = {
    {"listen", K_STRING, offsetof(config_t, listen), sizeof(((config_t *)0)->listen)},
    {"data_dir", K_STRING, offsetof(config_t, data_dir), sizeof(((config_t *)0)->data_dir)},
    {"log_level", K_STRING, offsetof(config_t, log_level), sizeof(((config_t *)0)->log_level)},
    {"cookie_secure", K_BOOL, offsetof(config_t, cookie_secure), 0},
#define LIM(k, kind, f) {k, kind, offsetof(config_t, lim) + offsetof(limits_t, f), 0}
    LIM("max_header_bytes", K_BYTES, max_header_bytes),
    LIM("max_json_body", K_BYTES, max_json_body),
    LIM("max_fetch_ids", K_COUNT, max_fetch_ids),
    LIM("max_json_depth", K_COUNT, max_json_depth),
    LIM("max_graphql_bytes", K_BYTES, max_graphql_bytes),
    LIM("max_graphql_depth", K_COUNT, max_graphql_depth),
    LIM("max_object_inflated", K_BYTES, max_object_inflated),
    LIM("max_put_body", K_BYTES, max_put_body),
    LIM("disk_reserve", K_BYTES, disk_reserve),
    LIM("max_put_objects", K_COUNT, max_put_objects),
    LIM("max_connections", K_COUNT, max_connections),
    LIM("max_connections_per_ip", K_COUNT, max_connections_per_ip),
    LIM("idle_timeout", K_SECONDS, idle_timeout_s),
    LIM("header_timeout", K_SECONDS, header_timeout_s),
    LIM("pending_expiry", K_SECONDS, pending_expiry_s),
    LIM("max_pending_per_user", K_COUNT, max_pending_per_user),
    LIM("max_tar_header", K_BYTES, max_tar_header),
    LIM("login_failures", K_COUNT, login_failures),
    LIM("login_window", K_SECONDS, login_window_s),
    LIM("session_lifetime", K_SECONDS, session_lifetime_s),
#undef LIM
    {"gc_interval", K_INTERVAL, offsetof(config_t, gc_interval_s), 0},
    {"gc_grace", K_SECONDS, offsetof(config_t, gc_grace_s), 0},
    {"checkpoint_interval", K_INTERVAL, offsetof(config_t, checkpoint_interval_s), 0},
    {"shutdown_timeout", K_SECONDS, offsetof(config_t, shutdown_timeout_s), 0},
    {"http_threads", K_THREADS, offsetof(config_t, http_threads), 0},
    {"workers", K_COUNT, offsetof(config_t, workers), 0},
    {"reply_cache", K_CACHE, offsetof(config_t, reply_cache_bytes), 0},
    {"reply_cache_idle", K_INTERVAL, offsetof(config_t, reply_cache_idle_s), 0},
    {"inline_blob_max", K_CACHE, offsetof(config_t, inline_blob_max), 0},
};

void config_defaults(config_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:3000");
    snprintf(c->data_dir, sizeof c->data_dir, "/var/lib/scoped");
    snprintf(c->log_level, sizeof c->log_level, "info");
    c->lim = (limits_t)LIMITS_DEFAULT;
    c->gc_interval_s = 24 * 3600;
    c->gc_grace_s = 3600;
    c->checkpoint_interval_s = 300;
    c->shutdown_timeout_s = 30;
    c->http_threads = 0;
    c->workers = 8;
    c->reply_cache_bytes = 64 * MIB;
    c->reply_cache_idle_s = 30;
    c->inline_blob_max = 64 * KIB;
}

/* "123", "64KiB", "8 MiB", "8GiB"; seconds take "30", "30s", "5m", "1h" */
static int parse_number(const char *v, kind_t kind, uint64_t *out)
{
    if (!isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno)
        return -1;
    while (*end == ' ')
        end++;
    uint64_t mul = 1;
    if (kind == K_BYTES || kind == K_CACHE) {
        if (!strcmp(end, "KiB") || !strcmp(end, "K"))
            mul = KIB;
        else if (!strcmp(end, "MiB") || !strcmp(end, "M"))
            mul = MIB;
        else if (!strcmp(end, "GiB") || !strcmp(end, "G"))
            mul = GIB;
        else if (*end)
            return -1;
    } else if (kind == K_SECONDS || kind == K_INTERVAL) {
        if (!strcmp(end, "s"))
            mul = 1;
        else if (!strcmp(end, "m"))
            mul = 60;
        else if (!strcmp(end, "h"))
            mul = 3600;
        else if (!strcmp(end, "d"))
            mul = 86400;
        else if (*end)
            return -1;
    } else if (*end) {
        return -1;
    }
    if (n > UINT64_MAX / mul)
        return -1;
    *out = n * mul;
    return 0;
}

int config_parse(config_t *c, const char *text, size_t len, const char *name, char *err,
                 size_t errlen)
{
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl ? 1 : 0);
        lineno++;
        char buf[4096 + 64];
        if (ll >= sizeof buf) {
            snprintf(err, errlen, "%s:%zu: line too long", name, lineno);
            return -1;
        }
        memcpy(buf, line, ll);
        buf[ll] = 0;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = 0;
        char *s = buf;
        while (isspace((unsigned char)*s))
            s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
            *--e = 0;
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%zu: expected \"key = value\"", name, lineno);
            return -1;
        }
        char *k = s, *ke = eq, *v = eq + 1;
        while (ke > k && isspace((unsigned char)ke[-1]))
            ke--;
        *ke = 0;
        while (isspace((unsigned char)*v))
            v++;
        size_t i;
        for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (!strcmp(keys[i].key, k))
                break;
        if (i == sizeof keys / sizeof keys[0]) {
            snprintf(err, errlen, "%s:%zu: unknown key \"%s\"", name, lineno, k);
            return -1;
        }
        char *field = (char *)c + keys[i].off;
        if (keys[i].kind == K_STRING) {
            if (!*v || strlen(v) >= keys[i].len) {
                snprintf(err, errlen, "%s:%zu: bad value for %s", name, lineno, k);
                return -1;
            }
            memcpy(field, v, strlen(v) + 1);
            continue;
        }
        if (keys[i].kind == K_BOOL) {
            bool yes = !strcmp(v, "yes") || !strcmp(v, "true");
            if (!yes && strcmp(v, "no") && strcmp(v, "false")) {
                snprintf(err, errlen, "%s:%zu: bad value \"%s\" for %s (yes or no)", name, lineno,
                         v, k);
                return -1;
            }
            memcpy(field, &yes, sizeof yes);
            continue;
        }
        uint64_t n;
        kind_t kind = keys[i].kind;
        bool zero_ok = kind == K_INTERVAL || kind == K_CACHE || kind == K_THREADS;
        if (parse_number(v, kind, &n) != 0 || (n == 0 && !zero_ok) ||
            (kind == K_THREADS && n > 1024)) {
            snprintf(err, errlen, "%s:%zu: bad value \"%s\" for %s (%s)", name, lineno, v, k,
                     kind == K_BYTES      ? "a positive size such as 8MiB"
                     : kind == K_CACHE    ? "a size such as 64MiB, or 0 for off"
                     : kind == K_SECONDS  ? "a positive duration such as 30s"
                     : kind == K_INTERVAL ? "a duration such as 1h, or 0 for off"
                     : kind == K_THREADS  ? "a count up to 1024, or 0 for one per CPU"
                                          : "a positive integer");
            return -1;
        }
        memcpy(field, &n, sizeof n);
    }
    if (strcmp(c->log_level, "error") && strcmp(c->log_level, "warn") &&
        strcmp(c->log_level, "info") && strcmp(c->log_level, "debug")) {
        snprintf(err, errlen, "%s: log_level must be error, warn, info or debug", name);
        return -1;
    }
    /* each worker is a thread with its own SQLite connection */
    if (c->workers > 1024) {
        snprintf(err, errlen, "%s: workers must be at most 1024", name);
        return -1;
    }
    /* an upload holds one such blob in memory while it arrives */
    if (c->inline_blob_max > 16 * MIB) {
        snprintf(err, errlen, "%s: inline_blob_max must be at most 16MiB", name);
        return -1;
    }
    return 0;
}

int config_load(config_t *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    buf_t b;
    buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (!buf_append(&b, chunk, n) || b.len > 1 * MIB)
            break;
    fclose(f);
    int rc = config_parse(c, (const char *)b.data, b.len, path, err, errlen);
    buf_free(&b);
    return rc;
}
