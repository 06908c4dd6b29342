/* conf/scoped.conf: "key = value" lines, '#' comments. Unknown keys and bad values stop the
 * start with a message naming the line. */
#ifndef SCOPED_CONFIG_H
#define SCOPED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limit.h"

typedef struct {
    char listen[256];    /* ADDR:PORT */
    char data_dir[4096];
    char log_level[16];
    bool cookie_secure;  /* session cookies carry Secure: set when TLS is in front */
    limits_t lim;
    /* upkeep (conf/scoped.conf has their defaults) */
    uint64_t gc_interval_s;         /* periodic gc in the daemon; 0: off */
    uint64_t gc_grace_s;            /* gc never deletes a blob younger than this */
    uint64_t checkpoint_interval_s; /* WAL checkpoints in the daemon; 0: SQLite's own only */
    uint64_t shutdown_timeout_s;    /* SIGTERM waits this long for requests in flight */
    /* serving (conf/scoped.conf explains them) */
    uint64_t http_threads;      /* threads that read and write connections; 0: one per CPU */
    uint64_t workers;           /* threads that run handlers (SQLite, fsync, Argon2id) */
    uint64_t reply_cache_bytes; /* fetch and GraphQL replies kept in memory; 0: off */
    uint64_t reply_cache_idle_s; /* a reply not asked for this long is dropped; 0: never */
    /* storage */
    uint64_t inline_blob_max; /* blobs up to this size are rows of the index; 0: all files */
} config_t;

void config_defaults(config_t *c);
/* 0 on success; otherwise err holds "FILE:LINE: message". */
int config_load(config_t *c, const char *path, char *err, size_t errlen);
int config_parse(config_t *c, const char *text, size_t len, const char *name, char *err,
                 size_t errlen);

#endif
