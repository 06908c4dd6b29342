/* Parsed Component and Version objects, by blob name: the put that parsed them to check them
 * hands them on to the ExportValidate and ExportPersist that need them again, which otherwise
 * read, inflate and parse every one twice more. A blob name is the hash of the bytes, so an
 * entry is right for as long as it lives. Each entry has one owner at a time (take removes it,
 * put gives it back), so no two threads share a JSON value. Bounded by the payload bytes the
 * entries stand for; the oldest go first, and none outlives OBJCACHE_TTL. */
#ifndef SCOPED_OBJCACHE_H
#define SCOPED_OBJCACHE_H

#include <jansson.h>
#include <stddef.h>

#include "hash.h"

#define OBJCACHE_BUDGET (16u << 20) /* payload bytes */
#define OBJCACHE_TTL 600            /* seconds */

/* Keeps json (its reference is taken over) for blob; weight is its payload's size. */
void objcache_put(const char *blob, json_t *json, size_t weight);
/* The kept JSON of blob, now the caller's; NULL when there is none. */
json_t *objcache_take(const char *blob);
/* Drops entries older than OBJCACHE_TTL (every entry with all = 1). */
void objcache_expire(int all);

/* Freeing an export's thousands of parsed objects takes a while: a thread that answers
 * requests (objcache_defer_on) lets them go after the reply is on its way (objcache_defer_run);
 * any other thread frees them at once. */
void objcache_defer_on(void);
void objcache_release(json_t *json);
void objcache_defer_run(void);

#endif
