/* The SQLite index: which objects each scope holds, and what fetch, merge and listings need
 * without inflating objects. One function per query; statements are prepared once per
 * connection. A later backend (PostgreSQL, say) replaces this file behind the same functions.
 * Functions return 0 on success, 1 for "not found" where a lookup can miss, -1 on error. */
#ifndef SCOPED_INDEX_H
#define SCOPED_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "object.h"

typedef struct index index_t;

#define NAME_MAX_LEN 256

index_t *index_open(const char *path, err_t *err);
void index_close(index_t *ix);
/* Applies the migrations the database has not seen, in order, each in its own transaction. */
int index_migrate(index_t *ix, err_t *err);
int index_schema_version(index_t *ix);
bool index_healthy(index_t *ix);

int index_begin(index_t *ix);           /* BEGIN IMMEDIATE: for writers */
int index_begin_read(index_t *ix);      /* a consistent snapshot for readers */
int index_commit(index_t *ix);
/* Outside a transaction: synced = false makes the commits that follow skip their own fsync
 * (durable with the next synced commit, the WAL being written in order, or checkpoint; a power
 * cut before that loses them whole, never part of one). Set it back to true after. */
int index_synced(index_t *ix, bool synced);
void index_rollback(index_t *ix);
const char *index_errmsg(index_t *ix);

/* What caches of replies and identities are checked against. The content epoch moves after
 * every commit in this process that may change a reply; index_quiet marks the transaction in
 * progress as one that does not. PRAGMA data_version moves when another connection (thread or
 * process) commits; own_commits counts this connection's own. */
uint64_t index_content_epoch(void);
void index_quiet(index_t *ix);
int64_t index_data_version(index_t *ix);
uint64_t index_own_commits(index_t *ix);

typedef struct {
    int64_t id;
    char name[NAME_MAX_LEN];
    bool is_public;
    int64_t created_at;
} scope_row_t;

int index_scope_create(index_t *ix, const char *name, bool is_public, int64_t now, int64_t *id);
int index_scope_get(index_t *ix, const char *name, scope_row_t *out);
int index_scope_each(index_t *ix, int (*fn)(void *ctx, const scope_row_t *s), void *ctx);

typedef struct {
    obj_type_t type;
    char blob[BLOB_HEX];
    int64_t size;
} object_row_t;

int index_object_get(index_t *ix, int64_t scope, const char *ref, object_row_t *out);
int index_object_put(index_t *ix, int64_t scope, const char *ref, obj_type_t type,
                     const char *blob, int64_t size);
int index_object_count(index_t *ix, int64_t scope, int64_t *n);

typedef struct {
    char name[NAME_MAX_LEN];
    char ref[REF_HEX];
    char head[REF_HEX]; /* "" when none */
    char latest[NAME_MAX_LEN];
    bool deprecated;
    bool removed;
    int64_t created_at;
    int64_t updated_at;
} component_row_t;

int index_component_get(index_t *ix, int64_t scope, const char *name, component_row_t *out);
int index_component_put(index_t *ix, int64_t scope, const component_row_t *c);
int index_component_set_deprecated(index_t *ix, int64_t scope, const char *name, bool dep);
/* In name order. */
int index_component_each(index_t *ix, int64_t scope,
                         int (*fn)(void *ctx, const component_row_t *c), void *ctx);
int index_component_count(index_t *ix, int64_t scope, int64_t *n);

int index_tag_put(index_t *ix, int64_t scope, const char *component, const char *tag,
                  const char *version);
int index_tag_get(index_t *ix, int64_t scope, const char *component, const char *tag,
                  char version[REF_HEX]);
int index_tag_each(index_t *ix, int64_t scope, const char *component,
                   int (*fn)(void *ctx, const char *tag, const char *version), void *ctx);

typedef struct {
    const char *component, *message, *username, *email, *date, *build_status;
} version_meta_t;

int index_version_put(index_t *ix, int64_t scope, const char *ref, const version_meta_t *m);
/* "" when the Version has none */
int index_version_build_status(index_t *ix, int64_t scope, const char *ref, char *out, size_t len);
/* The component a Version row is assigned to ("" when none); 1 when the scope has no such row. */
int index_version_component(index_t *ix, int64_t scope, const char *ref, char *out, size_t len);

/* What a Version refers to: Sources it needs, parent Versions, builder artifacts, and (not
 * followed by fetches) the head of an unrelated history, squashed parents, and whether it
 * carries a dependency graph. */
enum {
    VREF_SOURCE = 0,
    VREF_PARENT = 1,
    VREF_ARTIFACT = 2,
    VREF_UNRELATED = 3,
    VREF_SQUASHED = 4,
    VREF_DEPGRAPH = 5,
};
int index_version_ref_put(index_t *ix, int64_t scope, const char *version, int kind,
                          const char *ref);
int index_version_ref_each(index_t *ix, int64_t scope, const char *version, int kind,
                           int (*fn)(void *ctx, const char *ref), void *ctx);
/* The stored objects a Version refers to by kind, with their blobs, in one query; *out is
 * malloc'd (free it), refs the scope does not hold are left out. */
typedef struct {
    char ref[REF_HEX];
    object_row_t row;
} vref_object_t;
int index_version_objects(index_t *ix, int64_t scope, const char *version, int kind,
                          vref_object_t **out, size_t *n);
int index_version_dep_put(index_t *ix, int64_t scope, const char *version, const char *dep_scope,
                          const char *dep_name, const char *dep_version);
int index_version_dep_each(index_t *ix, int64_t scope, const char *version,
                           int (*fn)(void *ctx, const char *dscope, const char *dname,
                                     const char *dversion),
                           void *ctx);

typedef struct {
    char state[16];
    char owner[NAME_MAX_LEN];
    int64_t created_at, updated_at;
    char *result; /* malloc'd JSON text or NULL */
} pending_row_t;

/* 1 if the clientId is taken already */
int index_pending_create(index_t *ix, int64_t scope, const char *client_id, const char *owner,
                         int64_t now);
int index_pending_get(index_t *ix, int64_t scope, const char *client_id, pending_row_t *out);
int index_pending_persisted(index_t *ix, int64_t scope, const char *client_id,
                            const char *result, int64_t now);
int index_pending_delete(index_t *ix, int64_t scope, const char *client_id);
int index_pending_object_put(index_t *ix, int64_t scope, const char *client_id, const char *ref,
                             obj_type_t type, const char *blob, int64_t size);
int index_pending_object_each(index_t *ix, int64_t scope, const char *client_id,
                              int (*fn)(void *ctx, const char *ref, obj_type_t type,
                                        const char *blob, int64_t size),
                              void *ctx);
/* Deletes pending exports (and their object rows) not updated since `before`. */
int index_pending_expire(index_t *ix, int64_t before, int64_t *n);
int index_pending_count(index_t *ix, int64_t *n);
/* Pending exports not yet persisted that owner uploaded, in every scope. */
int index_pending_count_owner(index_t *ix, const char *owner, int64_t *n);

/* Is this blob referenced by any object or pending object row? 0 yes, 1 no, -1 error */
int index_blob_referenced(index_t *ix, const char *blob);
/* Inline blobs: small blobs kept as rows of the index rather than files of the blob store
 * (blob.c decides which). The blob layer writes them; readers ask here first. */
bool index_in_transaction(index_t *ix);
/* 0 stored (or refreshed), 1 when another blob holds its row id (store it as a file), -1 error */
/* The row id a blob's row has: the first 64 bits of its name, signed; -1 for a bad name. */
int index_blob_row_id(const char *name, int64_t *id);
int index_blob_data_put(index_t *ix, const char *name, const void *data, size_t len, int64_t now);
/* 0 with out holding the bytes (NUL-terminated), 1 absent, -1 error or larger than max */
int index_blob_data_get(index_t *ix, const char *name, uint64_t max, buf_t *out);
int index_blob_data_each(index_t *ix,
                         int (*fn)(void *ctx, const char *name, const void *data, size_t len),
                         void *ctx);
/* Deletes the rows created before stale_before that no object or pending object names. */
int index_blob_data_gc(index_t *ix, int64_t stale_before, uint64_t *n, uint64_t *bytes);
int index_blob_data_stats(index_t *ix, int64_t *n, int64_t *bytes);
int index_blob_data_delete(index_t *ix, const char *name);
/* Every object row, for fsck, in blob order: scope, ref, type, blob, size */
int index_object_each_all(index_t *ix,
                          int (*fn)(void *ctx, int64_t scope, const char *ref, obj_type_t type,
                                    const char *blob, int64_t size),
                          void *ctx);

int index_object_count_all(index_t *ix, int64_t *n);
int index_scope_count_all(index_t *ix, int64_t *n);
/* Every pending object row, in blob order. */
int index_pending_object_each_all(index_t *ix,
                                  int (*fn)(void *ctx, int64_t scope, const char *client_id,
                                            const char *ref, obj_type_t type, const char *blob,
                                            int64_t size),
                                  void *ctx);
/* Each blob some object or pending object row names, once, in name order, but for inline
 * blobs (those travel with the index). */
int index_blob_each_referenced(index_t *ix, int (*fn)(void *ctx, const char *blob), void *ctx);
/* One object row naming blob: 0, or 1 when only pending objects (or nothing) name it. */
int index_blob_object_row(index_t *ix, const char *blob, int64_t *scope, char ref[REF_HEX]);
/* Drops the unpersisted pending exports that name blob; *n gets how many. */
int index_pending_drop_by_blob(index_t *ix, const char *blob, int64_t *n);
/* SQLite's own PRAGMA quick_check: fn gets each problem; returns how many, or -1. */
int index_quick_check(index_t *ix, int (*fn)(void *ctx, const char *problem), void *ctx);
/* A consistent copy of the whole index into the new file dest (SQLite's online backup). */
int index_backup(index_t *ix, const char *dest, err_t *err);
/* Checkpoints the WAL into the database and truncates it, waiting at most busy_ms for
 * readers and the writer: 0 done, 1 busy (try later), -1 error. */
int index_checkpoint(index_t *ix, int busy_ms, int *wal_frames, int *checkpointed);
/* Commits that grow the WAL past 1000 pages call wake (once set) instead of checkpointing on
 * the committing thread; the woken thread runs index_checkpoint_passive. */
void index_set_checkpointer(void (*wake)(void *), void *arg);
int index_checkpoint_passive(index_t *ix);

typedef struct {
    int64_t id;
    char name[NAME_MAX_LEN];
    char password[256]; /* Argon2id string, "" when none */
    bool is_admin;
    int64_t created_at;
} user_row_t;

/* 1 when the name is taken */
int index_user_create(index_t *ix, const char *name, const char *password, bool is_admin,
                      int64_t now, int64_t *id);
int index_user_get(index_t *ix, const char *name, user_row_t *out);
int index_user_get_id(index_t *ix, int64_t id, user_row_t *out);
int index_user_set_password(index_t *ix, int64_t id, const char *password);
int index_user_count(index_t *ix, int64_t *n);
int index_user_each(index_t *ix, int (*fn)(void *ctx, const user_row_t *u), void *ctx);

typedef struct {
    int64_t id, user_id;
    char user[NAME_MAX_LEN];
    char label[NAME_MAX_LEN];
    int64_t created_at, expires_at, last_used, revoked_at; /* 0: none */
} token_row_t;

int index_token_create(index_t *ix, int64_t user_id, const char *label, const char *hash,
                       int64_t now, int64_t expires_at, int64_t *id);
int index_token_lookup(index_t *ix, const char *hash, token_row_t *out);
int index_token_get(index_t *ix, int64_t id, token_row_t *out);
int index_token_touch(index_t *ix, int64_t id, int64_t now);
/* 1 when there is no such unrevoked token */
int index_token_revoke(index_t *ix, int64_t id, int64_t now);
/* user_id 0: every user's */
int index_token_each(index_t *ix, int64_t user_id,
                     int (*fn)(void *ctx, const token_row_t *t), void *ctx);

int index_member_set(index_t *ix, int64_t scope, int64_t user, const char *role);
int index_member_role(index_t *ix, int64_t scope, int64_t user, char role[16]);
int index_member_delete(index_t *ix, int64_t scope, int64_t user);
int index_member_each(index_t *ix, int64_t scope,
                      int (*fn)(void *ctx, const char *user, const char *role), void *ctx);

int index_lane_put(index_t *ix, int64_t scope, const char *name, const char *ref, int64_t now);
int index_lane_get(index_t *ix, int64_t scope, const char *name, char ref[REF_HEX]);
int index_lane_each(index_t *ix, int64_t scope,
                    int (*fn)(void *ctx, const char *name, const char *ref), void *ctx);
int index_lane_delete(index_t *ix, int64_t scope, const char *name);

typedef struct {
    int64_t at;
    const char *actor, *address, *action, *scope, *detail;
} audit_row_t;

int index_audit_add(index_t *ix, int64_t now, const char *actor, const char *address,
                    const char *action, const char *scope, const char *detail);
/* newest first */
int index_audit_each(index_t *ix, int64_t limit, int (*fn)(void *ctx, const audit_row_t *a),
                     void *ctx);

/* Browser sessions: only the hash of the cookie's secret is kept. */
int index_session_create(index_t *ix, int64_t user_id, const char *hash, int64_t now,
                         int64_t expires_at);
int index_session_lookup(index_t *ix, const char *hash, int64_t *user_id, int64_t *expires_at);
int index_session_delete(index_t *ix, const char *hash);
/* Deletes the sessions expired by now. */
int index_session_expire(index_t *ix, int64_t now, int64_t *n);

/* What the web pages list. Strings are valid only during the callback. */
typedef struct {
    const char *ref, *tags; /* tags: space-separated, "" when none */
    const char *message, *username, *email, *date;
} version_row_t;

int index_scope_summary(index_t *ix, int64_t scope, int64_t *components, int64_t *updated_at);
/* Components whose name contains match (any case; NULL: all), by namespace then name, each
 * with its latest version's author and date (tags and message left empty). */
int index_component_list(index_t *ix, int64_t scope, const char *match,
                         int (*fn)(void *ctx, const component_row_t *c, const version_row_t *v),
                         void *ctx);
/* The versions of a component, newest first. */
int index_version_each_of(index_t *ix, int64_t scope, const char *component,
                          int (*fn)(void *ctx, const version_row_t *v), void *ctx);
int index_version_get(index_t *ix, int64_t scope, const char *ref,
                      int (*fn)(void *ctx, const version_row_t *v), void *ctx);
/* Components of the scope with a version depending on dep_scope/dep_name, with the dependency's
 * versions they use (comma-separated). */
int index_dependent_each(index_t *ix, int64_t scope, const char *dep_scope, const char *dep_name,
                         int (*fn)(void *ctx, const char *component, const char *versions),
                         void *ctx);
/* Removal of a component (api/scope/delete): its objects, rows, tags and Version rows. */
int index_object_delete(index_t *ix, int64_t scope, const char *ref);
int index_component_delete(index_t *ix, int64_t scope, const char *name); /* and its tags */
int index_version_delete(index_t *ix, int64_t scope, const char *ref);    /* and its refs, deps */
/* The components of the scope (other than dep_name) with a Version that depends on
 * dep_scope/dep_name, in any version; in name order. */
int index_component_dependents(index_t *ix, int64_t scope, const char *dep_scope,
                               const char *dep_name, int (*fn)(void *ctx, const char *name),
                               void *ctx);

#endif
