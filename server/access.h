/* Who the Authorization header names, and the scope row and role they have there: what every
 * request needs before routing, remembered per thread so that a stream of requests with one
 * token costs no index reads. An entry lives five seconds at most; none outlives a commit in
 * this daemon (a revoked token, a new member: the content epoch moves), nor by more than a
 * millisecond a commit by another process such as `scoped token revoke` (PRAGMA data_version). */
#ifndef SCOPED_ACCESS_H
#define SCOPED_ACCESS_H

#include "auth.h"
#include "index.h"

/* scope "" looks up no scope. *found: 0 found, 1 absent. 0, or -1 when the index fails. */
int access_lookup(index_t *ix, const char *authorization, const char *scope, identity_t *who,
                  int *found, scope_row_t *row, role_t *role);

#endif
