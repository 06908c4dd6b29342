/* POST /<scope>/api/scope/fetch: a tar of stored objects, copied from the blob store as stored
 * (never re-compressed), with the exact Content-Length known before the first byte. Small
 * blobs come from the index, one row at a time; large ones are read from their files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "app.h"
#include "fetch.h"
#include "log.h"
#include "tar.h"

typedef struct {
    app_t *app;
    blobstore_t *bs;
    fetch_list_t list;
    char start[256], end[256]; /* modern clients' .BIT.START / .BIT.END contents */
    size_t start_len, end_len;
    long long mtime;
    /* cursor: part -1 = .BIT.START, 0..n-1 = objects, n = .BIT.END, n+1 = the end blocks */
    long part;
    int stage; /* 0 header, 1 content, 2 padding */
    uint64_t off;
    int fd;
    buf_t inl; /* the current object's bytes when its blob is inline */
    uint64_t produced;
} tar_stream_t;

static uint64_t entry_bytes(uint64_t size)
{
    return 512 + size + tar_padding(size);
}

static void stream_free(void *cls)
{
    tar_stream_t *s = cls;
    if (s->fd >= 0)
        close(s->fd);
    buf_free(&s->inl);
    fetch_list_free(&s->list);
    free(s);
}

/* What the current part is: its name, size, and in-memory content (NULL for blobs). */
static void part_info(tar_stream_t *s, const char **name, uint64_t *size, const char **mem)
{
    long n = (long)s->list.n;
    if (s->part == -1) {
        *name = ".BIT.START", *size = s->start_len, *mem = s->start;
    } else if (s->part == n) {
        *name = ".BIT.END", *size = s->end_len, *mem = s->end;
    } else {
        fetch_item_t *it = &s->list.items[s->part];
        *name = it->ref, *size = (uint64_t)it->size, *mem = NULL;
    }
}

/* Where the object's bytes are: the index for small blobs, a file for large ones; each looks
 * at the other when it misses (the inline limit may have changed since the blob was stored). */
static int open_part(tar_stream_t *s, const fetch_item_t *it)
{
    bool small = (uint64_t)it->size <= blob_inline_max(s->bs);
    index_t *ix = app_index(s->app);
    buf_reset(&s->inl);
    if (small && ix && index_blob_data_get(ix, it->blob, (uint64_t)it->size, &s->inl) == 0)
        return s->inl.len == (size_t)it->size ? 0 : -1;
    s->fd = blob_open_fd(s->bs, it->blob);
    if (s->fd >= 0)
        return 0;
    if (!small && ix && index_blob_data_get(ix, it->blob, (uint64_t)it->size, &s->inl) == 0)
        return s->inl.len == (size_t)it->size ? 0 : -1;
    return -1;
}

static void next_part(tar_stream_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->part++;
    s->stage = 0;
    s->off = 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    tar_stream_t *s = cls;
    (void)pos;
    size_t out = 0;
    long last = (long)s->list.n + 1;
    while (out < max) {
        if (s->part > last)
            break;
        if (s->part == (long)s->list.n && !s->end_len) {
            s->part++; /* no .BIT.END for old clients */
            s->off = 0;
            continue;
        }
        if (s->part == last) {
            /* two zero blocks end the archive */
            uint64_t left = 1024 - s->off;
            size_t n = max - out < left ? max - out : (size_t)left;
            memset(buf + out, 0, n);
            out += n;
            s->off += n;
            if (s->off == 1024)
                s->part++;
            continue;
        }
        const char *name, *mem;
        uint64_t size;
        part_info(s, &name, &size, &mem);
        if (s->stage == 0) {
            /* headers are written whole: MHD's buffer is far larger than one block */
            if (max - out < 512)
                break;
            tar_header_write((unsigned char *)buf + out, name, size, s->mtime);
            out += 512;
            s->stage = 1;
            s->off = 0;
            if (!mem) {
                if (open_part(s, &s->list.items[s->part]) != 0) {
                    log_error("msg=\"blob missing during fetch\" blob=%s",
                              s->list.items[s->part].blob);
                    return MHD_CONTENT_READER_END_WITH_ERROR;
                }
            }
        } else if (s->stage == 1) {
            uint64_t left = size - s->off;
            size_t n = max - out < left ? max - out : (size_t)left;
            if (mem) {
                memcpy(buf + out, mem + s->off, n);
            } else if (s->fd < 0) {
                memcpy(buf + out, s->inl.data + s->off, n);
            } else if (n) {
                ssize_t got = pread(s->fd, buf + out, n, (off_t)s->off);
                if (got <= 0)
                    return MHD_CONTENT_READER_END_WITH_ERROR;
                n = (size_t)got;
            }
            out += n;
            s->off += n;
            if (s->off == size) {
                s->stage = 2;
                s->off = 0;
            }
        } else {
            uint64_t pad = tar_padding(size);
            uint64_t left = pad - s->off;
            size_t n = max - out < left ? max - out : (size_t)left;
            memset(buf + out, 0, n);
            out += n;
            s->off += n;
            if (s->off == pad)
                next_part(s);
        }
    }
    if (out == 0 && s->part > last)
        return MHD_CONTENT_READER_END_OF_STREAM;
    s->produced += out;
    return (ssize_t)out;
}

/* Kept replies are mapped pages of their own, so that the memory goes back to the system as
 * soon as the cache drops them (malloc would keep it in the thread's arena). The length sits
 * in the first 16 bytes. */
static void free_reply(void *body)
{
    free((char *)body - 16);
}

static void unmap_reply(void *body)
{
    char *base = (char *)body - 16;
    size_t len;
    memcpy(&len, base, sizeof len);
    munmap(base, len);
}

/* Replies up to this size are built whole on the worker; larger ones are streamed. */
#define WHOLE_REPLY_MAX (1u << 20)

/* A small reply is built whole: one to keep in its own pages, so that the reply cache can
 * queue it again and give its memory back when it drops it; any other with malloc. */
static struct MHD_Response *build_in_memory(tar_stream_t *s, uint64_t total, bool keep)
{
    size_t len = (size_t)total + 16;
    char *base = keep ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                      : malloc(len);
    if (base == MAP_FAILED || !base)
        return NULL;
    memcpy(base, &len, sizeof len);
    char *buf = base + 16;
    uint64_t have = 0;
    while (have < total) {
        ssize_t n = stream_read(s, have, buf + have, (size_t)(total - have));
        if (n <= 0)
            break;
        have += (uint64_t)n;
    }
    struct MHD_Response *resp =
        have == total ? MHD_create_response_from_buffer_with_free_callback(
                            total, buf, keep ? unmap_reply : free_reply)
                      : NULL;
    if (!resp && keep)
        munmap(base, len);
    else if (!resp)
        free(base);
    return resp;
}

int handle_fetch(req_t *r)
{
    json_t *body = req_json(r);
    if (!body)
        return reply_error(r, &r->err);
    json_t *ids;
    fetch_opts_t opts;
    tar_stream_t *s = calloc(1, sizeof *s);
    if (!s) {
        json_decref(body);
        return MHD_NO;
    }
    s->fd = -1;
    s->app = r->app;
    s->bs = r->app->bs;
    fetch_list_init(&s->list);
    store_t st = app_store(r->app);
    int rc = fetch_parse_request(body, r->modern, r->app->cfg.lim.max_fetch_ids, &ids, &opts,
                                 &r->err);
    if (rc == 0)
        rc = fetch_collect(&st, &r->scope, ids, &opts, &s->list, &r->err);
    json_decref(body);
    if (rc != 0) {
        stream_free(s);
        return reply_error(r, &r->err);
    }
    s->mtime = (long long)time(NULL);
    uint64_t total = 1024;
    for (size_t i = 0; i < s->list.n; i++)
        total += entry_bytes((uint64_t)s->list.items[i].size);
    s->part = 0;
    if (r->modern) {
        /* markers only for clients that know them: the old client inflates every entry */
        s->start_len = (size_t)snprintf(s->start, sizeof s->start,
                                        "{\"schema\":\"1.0.0\",\"scopeName\":\"%s\"}",
                                        r->scope.name);
        s->end_len = (size_t)snprintf(s->end, sizeof s->end,
                                      "{\"numOfFiles\":%zu,\"scopeName\":\"%s\"}", s->list.n,
                                      r->scope.name);
        total += entry_bytes(s->start_len) + entry_bytes(s->end_len);
        s->part = -1;
    }
    bool keep = r->keyed && total <= reply_cache_max_entry(r->app->replies) &&
                reply_cache_admit(r->app->replies, &r->key);
    bool whole = keep || total <= WHOLE_REPLY_MAX;
    struct MHD_Response *resp =
        whole ? build_in_memory(s, total, keep)
              : MHD_create_response_from_callback(total, 64 * 1024, stream_read, s, stream_free);
    if (whole || !resp)
        stream_free(s);
    if (!resp)
        return MHD_NO;
    r->cache_it = keep;
    MHD_add_response_header(resp, "Content-Type", "application/x-tar");
    r->bytes_out = total;
    return reply_response(r, 200, resp);
}
