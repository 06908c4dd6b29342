/* Reading captured bodies (tests/captures) for unit tests. */
#ifndef SCOPED_CAPTURE_H
#define SCOPED_CAPTURE_H

#include <stdio.h>

#include "buf.h"
#include "unit.h"

/* Loads captures/<rel> into out; false when missing. */
static inline bool capture_load(const char *rel, buf_t *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", unit_captures_dir(), rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "missing capture %s\n", path);
        return false;
    }
    char chunk[65536];
    size_t n;
    buf_reset(out);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(out, chunk, n);
    fclose(f);
    return true;
}

#endif
