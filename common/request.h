/* The small request bodies and headers a client sends, parsed with the limits applied before
 * any handler reads them: JSON bodies bounded in nesting, and a put's push-options header. */
#ifndef SCOPED_REQUEST_H
#define SCOPED_REQUEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Nesting depth of a JSON text, counted outside strings. */
size_t request_json_depth(const unsigned char *s, size_t len);
/* Parses a JSON body nested at most max_depth deep; NULL with err set (400) otherwise. */
json_t *request_json_parse(const unsigned char *data, size_t len, uint64_t max_depth, err_t *err);
/* The push-options header of a put, {"clientId": "...", ...}: copies a valid clientId into
 * client_id (size 130 or more) or returns -1 with err set (400). */
int request_push_options(const char *header, uint64_t max_depth, char *client_id, size_t size,
                         err_t *err);

#endif
