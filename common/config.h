/* conf/scoped.conf: "key = value" lines, '#' comments. Unknown keys and bad values stop the
 * start with a message naming the line. */
#ifndef SCOPED_CONFIG_H
#define SCOPED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "limit.h"

typedef struct {
    char listen[256];    /* ADDR:PORT */
    char data_dir[4096];
    char log_level[16];
    bool cookie_secure;  /* session cookies carry Secure: set when TLS is in front */
    limits_t lim;
} config_t;

void config_defaults(config_t *c);
/* 0 on success; otherwise err holds "FILE:LINE: message". */
int config_load(config_t *c, const char *path, char *err, size_t errlen);
int config_parse(config_t *c, const char *text, size_t len, const char *name, char *err,
                 size_t errlen);

#endif
