/* Small helpers for the pages: escaping, URL encoding, form bodies. */
#ifndef SCOPED_HTML_H
#define SCOPED_HTML_H

#include <stdbool.h>

#include "buf.h"

bool html_escape(buf_t *b, const char *s);
/* The same for len bytes that may hold NULs (shown as U+FFFD). */
bool html_escape_n(buf_t *b, const char *s, size_t len);
bool url_encode(buf_t *b, const char *s);
/* url_encode that keeps '/' as is: for paths such as /<scope>/~/<namespace>/<name>. */
bool url_encode_path(buf_t *b, const char *s);
/* The value of key in an application/x-www-form-urlencoded body or query, decoded into out
 * (truncated to outlen); false when absent. */
bool form_value(const char *body, size_t len, const char *key, char *out, size_t outlen);

#endif
