/* Small helpers for the pages: escaping, URL encoding, form bodies. */
#ifndef SCOPED_HTML_H
#define SCOPED_HTML_H

#include <stdbool.h>

#include "buf.h"

bool html_escape(buf_t *b, const char *s);
bool url_encode(buf_t *b, const char *s);
/* The value of key in an application/x-www-form-urlencoded body or query, decoded into out
 * (truncated to outlen); false when absent. */
bool form_value(const char *body, size_t len, const char *key, char *out, size_t outlen);

#endif
