/* A JSON reader for the export's hot path: what jansson's json_loadb(buf, len,
 * JSON_REJECT_DUPLICATES) accepts, into the same jansson values, about three times as fast
 * (jansson reads a byte at a time through a stream). The top level must be an object or an
 * array; nesting is bounded by JSONP_MAX_DEPTH; strings must be UTF-8 without NUL. */
#ifndef SCOPED_JSONPARSE_H
#define SCOPED_JSONPARSE_H

#include <jansson.h>
#include <stddef.h>

#define JSONP_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

/* NULL on error, with a message in err (at least 96 bytes) if err is not NULL. */
json_t *jsonp_load(const char *buf, size_t len, char *err, size_t errlen);

#endif
