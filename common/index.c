#include "index.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Generated from the migrations folder by the Makefile. */
typedef struct {
    int version;
    const char *name;
    const char *sql;
} migration_t;
extern const migration_t index_migrations[];
extern const int index_migration_count;

enum {
    Q_SCOPE_CREATE,
    Q_SCOPE_GET,
    Q_SCOPE_EACH,
    Q_OBJECT_GET,
    Q_OBJECT_PUT,
    Q_OBJECT_COUNT,
    Q_COMPONENT_GET,
    Q_COMPONENT_PUT,
    Q_COMPONENT_DEPRECATE,
    Q_COMPONENT_EACH,
    Q_COMPONENT_COUNT,
    Q_TAG_PUT,
    Q_TAG_GET,
    Q_TAG_EACH,
    Q_VERSION_PUT,
    Q_VERSION_BUILD_STATUS,
    Q_VERSION_COMPONENT,
    Q_VREF_PUT,
    Q_VREF_EACH,
    Q_VDEP_PUT,
    Q_VDEP_EACH,
    Q_PENDING_CREATE,
    Q_PENDING_GET,
    Q_PENDING_PERSISTED,
    Q_PENDING_DELETE,
    Q_PENDING_OBJECTS_DELETE,
    Q_PENDING_OBJECT_PUT,
    Q_PENDING_OBJECT_EACH,
    Q_PENDING_EXPIRE_OBJECTS,
    Q_PENDING_EXPIRE,
    Q_PENDING_COUNT,
    Q_PENDING_COUNT_OWNER,
    Q_BLOB_REFERENCED,
    Q_OBJECT_EACH_ALL,
    Q_USER_CREATE,
    Q_USER_GET,
    Q_USER_GET_ID,
    Q_USER_SET_PASSWORD,
    Q_USER_COUNT,
    Q_USER_EACH,
    Q_TOKEN_CREATE,
    Q_TOKEN_LOOKUP,
    Q_TOKEN_GET,
    Q_TOKEN_TOUCH,
    Q_TOKEN_REVOKE,
    Q_TOKEN_EACH,
    Q_MEMBER_SET,
    Q_MEMBER_ROLE,
    Q_MEMBER_DELETE,
    Q_MEMBER_EACH,
    Q_AUDIT_ADD,
    Q_AUDIT_EACH,
    Q_LANE_PUT,
    Q_LANE_GET,
    Q_LANE_EACH,
    Q_LANE_DELETE,
    Q_SESSION_CREATE,
    Q_SESSION_LOOKUP,
    Q_SESSION_DELETE,
    Q_SESSION_EXPIRE,
    Q_SCOPE_SUMMARY,
    Q_COMPONENT_LIST,
    Q_VERSION_EACH_OF,
    Q_VERSION_GET,
    Q_DEPENDENT_EACH,
    Q_OBJECT_DELETE,
    Q_COMPONENT_DELETE,
    Q_TAG_DELETE_ALL,
    Q_VERSION_DELETE,
    Q_VREF_DELETE,
    Q_VDEP_DELETE,
    Q_DEPENDENTS,
    Q_OBJECT_COUNT_ALL,
    Q_SCOPE_COUNT_ALL,
    Q_PENDING_OBJECT_EACH_ALL,
    Q_BLOB_EACH_REFERENCED,
    Q_BLOB_OBJECT_ROW,
    Q_PENDING_DROP_BY_BLOB,
    Q_PENDING_OBJECTS_ORPHANED,
    Q_DATA_VERSION,
    Q_VREF_OBJECTS,
    Q_BLOB_DATA_PUT,
    Q_BLOB_DATA_GET,
    Q_BLOB_DATA_EACH,
    Q_BLOB_DATA_GC,
    Q_BLOB_DATA_STATS,
    Q_BLOB_DATA_DELETE,
    Q__COUNT
};

static const char *const sql_text[Q__COUNT] = {
    [Q_SCOPE_CREATE] = "INSERT INTO scopes(name, public, created_at) VALUES (?1, ?2, ?3)",
    [Q_SCOPE_GET] = "SELECT id, name, public, created_at FROM scopes WHERE name = ?1",
    [Q_SCOPE_EACH] = "SELECT id, name, public, created_at FROM scopes ORDER BY name",
    [Q_OBJECT_GET] = "SELECT type, blob, size FROM objects WHERE scope_id = ?1 AND ref = ?2",
    [Q_OBJECT_PUT] = "INSERT INTO objects(scope_id, ref, type, blob, size) VALUES (?1,?2,?3,?4,?5)"
                     " ON CONFLICT(scope_id, ref) DO UPDATE SET type = excluded.type,"
                     " blob = excluded.blob, size = excluded.size",
    [Q_OBJECT_COUNT] = "SELECT count(*) FROM objects WHERE scope_id = ?1",
    [Q_COMPONENT_GET] = "SELECT name, ref, head, latest, deprecated, removed, created_at, updated_at"
                        " FROM components WHERE scope_id = ?1 AND name = ?2",
    [Q_COMPONENT_PUT] = "INSERT INTO components(scope_id, name, ref, head, latest, deprecated,"
                        " removed, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)"
                        " ON CONFLICT(scope_id, name) DO UPDATE SET ref = excluded.ref,"
                        " head = excluded.head, latest = excluded.latest,"
                        " deprecated = excluded.deprecated, removed = excluded.removed,"
                        " updated_at = excluded.updated_at",
    [Q_COMPONENT_DEPRECATE] = "UPDATE components SET deprecated = ?3 WHERE scope_id = ?1 AND name = ?2",
    [Q_COMPONENT_EACH] = "SELECT name, ref, head, latest, deprecated, removed, created_at, updated_at"
                         " FROM components WHERE scope_id = ?1 ORDER BY name",
    [Q_COMPONENT_COUNT] = "SELECT count(*) FROM components WHERE scope_id = ?1",
    [Q_TAG_PUT] = "INSERT OR REPLACE INTO tags(scope_id, component, tag, version) VALUES (?1,?2,?3,?4)",
    [Q_TAG_GET] = "SELECT version FROM tags WHERE scope_id = ?1 AND component = ?2 AND tag = ?3",
    [Q_TAG_EACH] = "SELECT tag, version FROM tags WHERE scope_id = ?1 AND component = ?2",
    [Q_VERSION_PUT] = "INSERT INTO versions(scope_id, ref, component, message, username, email, date,"
                      " build_status) VALUES (?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT(scope_id, ref)"
                      " DO UPDATE SET component = coalesce(versions.component, excluded.component)",
    [Q_VERSION_BUILD_STATUS] = "SELECT build_status FROM versions WHERE scope_id = ?1 AND ref = ?2",
    [Q_VERSION_COMPONENT] = "SELECT component FROM versions WHERE scope_id = ?1 AND ref = ?2",
    [Q_VREF_PUT] = "INSERT OR IGNORE INTO version_refs(scope_id, version, kind, ref) VALUES (?1,?2,?3,?4)",
    [Q_VREF_EACH] = "SELECT ref FROM version_refs WHERE scope_id = ?1 AND version = ?2 AND kind = ?3",
    [Q_VDEP_PUT] = "INSERT OR IGNORE INTO version_deps(scope_id, version, dep_scope, dep_name,"
                   " dep_version) VALUES (?1,?2,?3,?4,?5)",
    [Q_VDEP_EACH] = "SELECT dep_scope, dep_name, dep_version FROM version_deps"
                    " WHERE scope_id = ?1 AND version = ?2",
    [Q_PENDING_CREATE] = "INSERT INTO pending(scope_id, client_id, owner, state, created_at, updated_at)"
                         " VALUES (?1, ?2, ?3, 'uploaded', ?4, ?4)",
    [Q_PENDING_GET] = "SELECT state, owner, created_at, updated_at, result FROM pending"
                      " WHERE scope_id = ?1 AND client_id = ?2",
    [Q_PENDING_PERSISTED] = "UPDATE pending SET state = 'persisted', result = ?3, updated_at = ?4"
                            " WHERE scope_id = ?1 AND client_id = ?2",
    [Q_PENDING_DELETE] = "DELETE FROM pending WHERE scope_id = ?1 AND client_id = ?2",
    [Q_PENDING_OBJECTS_DELETE] = "DELETE FROM pending_objects WHERE scope_id = ?1 AND client_id = ?2",
    [Q_PENDING_OBJECT_PUT] = "INSERT OR IGNORE INTO pending_objects(scope_id, client_id, ref, type,"
                             " blob, size) VALUES (?1,?2,?3,?4,?5,?6)",
    [Q_PENDING_OBJECT_EACH] = "SELECT ref, type, blob, size FROM pending_objects"
                              " WHERE scope_id = ?1 AND client_id = ?2",
    [Q_PENDING_EXPIRE_OBJECTS] = "DELETE FROM pending_objects WHERE (scope_id, client_id) IN"
                                 " (SELECT scope_id, client_id FROM pending WHERE updated_at < ?1)",
    [Q_PENDING_EXPIRE] = "DELETE FROM pending WHERE updated_at < ?1",
    [Q_PENDING_COUNT] = "SELECT count(*) FROM pending WHERE state = 'uploaded'",
    [Q_PENDING_COUNT_OWNER] = "SELECT count(*) FROM pending WHERE state = 'uploaded' AND owner = ?1",
    [Q_BLOB_REFERENCED] = "SELECT 1 WHERE EXISTS (SELECT 1 FROM objects WHERE blob = ?1)"
                          " OR EXISTS (SELECT 1 FROM pending_objects WHERE blob = ?1)",
    [Q_OBJECT_EACH_ALL] = "SELECT scope_id, ref, type, blob, size FROM objects ORDER BY blob",
    [Q_USER_CREATE] = "INSERT INTO users(name, password, is_admin, created_at) VALUES (?1,?2,?3,?4)",
    [Q_USER_GET] = "SELECT id, name, password, is_admin, created_at FROM users WHERE name = ?1",
    [Q_USER_GET_ID] = "SELECT id, name, password, is_admin, created_at FROM users WHERE id = ?1",
    [Q_USER_SET_PASSWORD] = "UPDATE users SET password = ?2 WHERE id = ?1",
    [Q_USER_COUNT] = "SELECT count(*) FROM users",
    [Q_USER_EACH] = "SELECT id, name, password, is_admin, created_at FROM users ORDER BY name",
    [Q_TOKEN_CREATE] = "INSERT INTO tokens(user_id, label, hash, created_at, expires_at)"
                       " VALUES (?1,?2,?3,?4,?5)",
    [Q_TOKEN_LOOKUP] = "SELECT t.id, t.user_id, t.label, t.created_at, t.expires_at, t.last_used,"
                       " t.revoked_at, u.name FROM tokens t JOIN users u ON u.id = t.user_id"
                       " WHERE t.hash = ?1",
    [Q_TOKEN_GET] = "SELECT t.id, t.user_id, t.label, t.created_at, t.expires_at, t.last_used,"
                    " t.revoked_at, u.name FROM tokens t JOIN users u ON u.id = t.user_id"
                    " WHERE t.id = ?1",
    [Q_TOKEN_TOUCH] = "UPDATE tokens SET last_used = ?2 WHERE id = ?1",
    [Q_TOKEN_REVOKE] = "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
    [Q_TOKEN_EACH] = "SELECT t.id, t.user_id, t.label, t.created_at, t.expires_at, t.last_used,"
                     " t.revoked_at, u.name FROM tokens t JOIN users u ON u.id = t.user_id"
                     " WHERE (?1 = 0 OR t.user_id = ?1) ORDER BY t.id",
    [Q_MEMBER_SET] = "INSERT INTO members(scope_id, user_id, role) VALUES (?1,?2,?3)"
                     " ON CONFLICT(scope_id, user_id) DO UPDATE SET role = excluded.role",
    [Q_MEMBER_ROLE] = "SELECT role FROM members WHERE scope_id = ?1 AND user_id = ?2",
    [Q_MEMBER_DELETE] = "DELETE FROM members WHERE scope_id = ?1 AND user_id = ?2",
    [Q_MEMBER_EACH] = "SELECT u.name, m.role FROM members m JOIN users u ON u.id = m.user_id"
                      " WHERE m.scope_id = ?1 ORDER BY u.name",
    [Q_AUDIT_ADD] = "INSERT INTO audit(at, actor, address, action, scope, detail)"
                    " VALUES (?1,?2,?3,?4,?5,?6)",
    [Q_LANE_PUT] = "INSERT INTO lanes(scope_id, name, ref, updated_at) VALUES (?1,?2,?3,?4)"
                  " ON CONFLICT(scope_id, name) DO UPDATE SET ref = excluded.ref,"
                  " updated_at = excluded.updated_at",
    [Q_LANE_GET] = "SELECT ref FROM lanes WHERE scope_id = ?1 AND name = ?2",
    [Q_LANE_EACH] = "SELECT name, ref FROM lanes WHERE scope_id = ?1 ORDER BY name",
    [Q_LANE_DELETE] = "DELETE FROM lanes WHERE scope_id = ?1 AND name = ?2",
    [Q_AUDIT_EACH] = "SELECT at, actor, address, action, scope, detail FROM audit"
                     " ORDER BY id DESC LIMIT ?1",
    [Q_SESSION_CREATE] = "INSERT INTO sessions(user_id, hash, created_at, expires_at)"
                         " VALUES (?1,?2,?3,?4)",
    [Q_SESSION_LOOKUP] = "SELECT user_id, expires_at FROM sessions WHERE hash = ?1",
    [Q_SESSION_DELETE] = "DELETE FROM sessions WHERE hash = ?1",
    [Q_SESSION_EXPIRE] = "DELETE FROM sessions WHERE expires_at <= ?1",
    [Q_SCOPE_SUMMARY] = "SELECT count(*), coalesce(max(updated_at), 0) FROM components"
                        " WHERE scope_id = ?1",
    /* the latest version is the head, or for legacy components the version of the latest tag */
    [Q_COMPONENT_LIST] = "SELECT c.name, c.ref, c.head, c.latest, c.deprecated, c.removed,"
                         " c.created_at, c.updated_at, v.username, v.email, v.date"
                         " FROM components c LEFT JOIN versions v ON v.scope_id = c.scope_id"
                         " AND v.ref = coalesce(c.head, (SELECT t.version FROM tags t"
                         " WHERE t.scope_id = c.scope_id AND t.component = c.name"
                         " AND t.tag = c.latest))"
                         " WHERE c.scope_id = ?1"
                         " AND (?2 IS NULL OR instr(lower(c.name), lower(?2)) > 0)"
                         " ORDER BY rtrim(c.name, replace(c.name, '/', '')), c.name",
    [Q_VERSION_EACH_OF] = "SELECT v.ref, (SELECT group_concat(t.tag, ' ') FROM tags t"
                          " WHERE t.scope_id = v.scope_id AND t.component = v.component"
                          " AND t.version = v.ref), v.message, v.username, v.email, v.date"
                          " FROM versions v WHERE v.scope_id = ?1 AND v.component = ?2"
                          " ORDER BY CAST(v.date AS INTEGER) DESC, v.ref",
    [Q_VERSION_GET] = "SELECT v.ref, (SELECT group_concat(t.tag, ' ') FROM tags t"
                      " WHERE t.scope_id = v.scope_id AND t.component = v.component"
                      " AND t.version = v.ref), v.message, v.username, v.email, v.date"
                      " FROM versions v WHERE v.scope_id = ?1 AND v.ref = ?2",
    [Q_DEPENDENT_EACH] = "SELECT v.component, group_concat(DISTINCT d.dep_version)"
                         " FROM version_deps d JOIN versions v ON v.scope_id = d.scope_id"
                         " AND v.ref = d.version WHERE d.scope_id = ?1 AND d.dep_scope = ?2"
                         " AND d.dep_name = ?3 AND v.component IS NOT NULL"
                         " GROUP BY v.component ORDER BY v.component",
    [Q_OBJECT_DELETE] = "DELETE FROM objects WHERE scope_id = ?1 AND ref = ?2",
    [Q_COMPONENT_DELETE] = "DELETE FROM components WHERE scope_id = ?1 AND name = ?2",
    [Q_TAG_DELETE_ALL] = "DELETE FROM tags WHERE scope_id = ?1 AND component = ?2",
    [Q_VERSION_DELETE] = "DELETE FROM versions WHERE scope_id = ?1 AND ref = ?2",
    [Q_VREF_DELETE] = "DELETE FROM version_refs WHERE scope_id = ?1 AND version = ?2",
    [Q_VDEP_DELETE] = "DELETE FROM version_deps WHERE scope_id = ?1 AND version = ?2",
    /* components of the scope with any Version whose flattened dependencies name scope/name */
    [Q_DEPENDENTS] = "SELECT DISTINCT v.component FROM version_deps d"
                     " JOIN versions v ON v.scope_id = d.scope_id AND v.ref = d.version"
                     " JOIN components c ON c.scope_id = v.scope_id AND c.name = v.component"
                     " WHERE d.scope_id = ?1 AND d.dep_scope = ?2 AND d.dep_name = ?3"
                     " AND v.component <> ?3 ORDER BY v.component",
    [Q_OBJECT_COUNT_ALL] = "SELECT count(*) FROM objects",
    [Q_SCOPE_COUNT_ALL] = "SELECT count(*) FROM scopes",
    [Q_PENDING_OBJECT_EACH_ALL] = "SELECT scope_id, client_id, ref, type, blob, size"
                                  " FROM pending_objects ORDER BY blob",
    [Q_BLOB_EACH_REFERENCED] = "SELECT blob FROM (SELECT blob FROM objects UNION"
                               " SELECT blob FROM pending_objects)"
                               " WHERE blob NOT IN (SELECT name FROM blob_data) ORDER BY 1",
    [Q_BLOB_OBJECT_ROW] = "SELECT scope_id, ref FROM objects WHERE blob = ?1 LIMIT 1",
    [Q_PENDING_DROP_BY_BLOB] = "DELETE FROM pending WHERE state = 'uploaded' AND (scope_id, client_id)"
                               " IN (SELECT scope_id, client_id FROM pending_objects WHERE blob = ?1)",
    [Q_PENDING_OBJECTS_ORPHANED] = "DELETE FROM pending_objects WHERE (scope_id, client_id) NOT IN"
                                   " (SELECT scope_id, client_id FROM pending)",
    [Q_DATA_VERSION] = "PRAGMA data_version",
    [Q_VREF_OBJECTS] = "SELECT vr.ref, o.type, o.blob, o.size FROM version_refs vr JOIN objects o"
                       " ON o.scope_id = vr.scope_id AND o.ref = vr.ref"
                       " WHERE vr.scope_id = ?1 AND vr.version = ?2 AND vr.kind = ?3",
    /* a row stored again is young again: gc's grace then protects it until it is named */
    [Q_BLOB_DATA_PUT] = "INSERT INTO blob_data(id, name, data, created_at) VALUES (?1, ?2, ?3, ?4)"
                        " ON CONFLICT(id) DO UPDATE SET created_at = excluded.created_at"
                        " WHERE blob_data.name = excluded.name",
    [Q_BLOB_DATA_GET] = "SELECT data FROM blob_data WHERE id = ?1 AND name = ?2",
    [Q_BLOB_DATA_EACH] = "SELECT name, data FROM blob_data",
    [Q_BLOB_DATA_GC] = "DELETE FROM blob_data WHERE created_at < ?1"
                       " AND NOT EXISTS (SELECT 1 FROM objects WHERE blob = blob_data.name)"
                       " AND NOT EXISTS (SELECT 1 FROM pending_objects WHERE blob = blob_data.name)"
                       " RETURNING length(data)",
    [Q_BLOB_DATA_STATS] = "SELECT count(*), coalesce(sum(length(data)), 0) FROM blob_data",
    [Q_BLOB_DATA_DELETE] = "DELETE FROM blob_data WHERE id = ?1 AND name = ?2",
};

struct index {
    sqlite3 *db;
    sqlite3_stmt *stmt[Q__COUNT];
    bool quiet;            /* the transaction in progress changes no content */
    uint64_t own_commits;  /* write transactions this connection committed */
};

/* Moves after every commit that may change what a reply holds or who may ask, once the commit
 * is visible: the reply and access caches are valid for one epoch. Only commits marked quiet (a
 * token's last use, an upload's pending rows) leave it alone; missing a mark costs a refill,
 * never a stale answer. */
static atomic_uint_fast64_t content_epoch = 1;

uint64_t index_content_epoch(void)
{
    return atomic_load(&content_epoch);
}

void index_quiet(index_t *ix)
{
    ix->quiet = true;
}

uint64_t index_own_commits(index_t *ix)
{
    return ix->own_commits;
}

/* SQLite calls this after each write transaction is committed and its lock released. It also
 * replaces SQLite's automatic checkpoint, which used the same hook. */
static void (*_Atomic checkpointer)(void *);
static void *_Atomic checkpointer_arg;

void index_set_checkpointer(void (*wake)(void *), void *arg)
{
    if (wake) /* arg first: a commit that sees wake sees its arg; arg outlives wake */
        checkpointer_arg = arg;
    checkpointer = wake;
}

int index_checkpoint_passive(index_t *ix)
{
    return sqlite3_wal_checkpoint_v2(ix->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) ==
                   SQLITE_OK
               ? 0
               : -1;
}

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    index_t *ix = arg;
    if (!ix->quiet)
        atomic_fetch_add(&content_epoch, 1);
    ix->quiet = false;
    ix->own_commits++;
    /* SQLite's own rule (a checkpoint past 1000 WAL pages), but where a daemon has a thread
     * for it, there: the commit's caller is waiting for its reply */
    void (*wake)(void *) = checkpointer;
    if (pages >= 1000 && wake)
        wake(checkpointer_arg);
    else if (pages >= 1000)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static void on_rollback(void *arg)
{
    ((index_t *)arg)->quiet = false;
}

const char *index_errmsg(index_t *ix)
{
    return sqlite3_errmsg(ix->db);
}

static sqlite3_stmt *prep(index_t *ix, int q)
{
    sqlite3_stmt *st = ix->stmt[q];
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    if (sqlite3_prepare_v3(ix->db, sql_text[q], -1, SQLITE_PREPARE_PERSISTENT, &ix->stmt[q],
                           NULL) != SQLITE_OK) {
        log_error("msg=\"prepare failed\" query=%d error=\"%s\"", q, sqlite3_errmsg(ix->db));
        return NULL;
    }
    return ix->stmt[q];
}

/* Binds by a format: 'i' int64, 't' text (NULL binds NULL), 'b' bool as int. */
static sqlite3_stmt *prep_bind(index_t *ix, int q, const char *fmt, ...)
{
    sqlite3_stmt *st = prep(ix, q);
    if (!st)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = SQLITE_OK;
    for (int i = 0; fmt[i] && rc == SQLITE_OK; i++) {
        if (fmt[i] == 'i') {
            rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        } else if (fmt[i] == 'b') {
            rc = sqlite3_bind_int(st, i + 1, va_arg(ap, int) ? 1 : 0);
        } else {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(st, i + 1, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i + 1);
        }
    }
    va_end(ap);
    if (rc != SQLITE_OK) {
        log_error("msg=\"bind failed\" query=%d error=\"%s\"", q, sqlite3_errmsg(ix->db));
        return NULL;
    }
    return st;
}

/* Runs a statement that returns no rows. */
static int run(index_t *ix, sqlite3_stmt *st)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc == SQLITE_CONSTRAINT)
        return 1;
    log_error("msg=\"query failed\" error=\"%s\"", sqlite3_errmsg(ix->db));
    return -1;
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

static const char *col(sqlite3_stmt *st, int c)
{
    const unsigned char *t = sqlite3_column_text(st, c);
    return t ? (const char *)t : "";
}

static int exec(index_t *ix, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(ix->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("msg=\"sql failed\" error=\"%s\"", msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

index_t *index_open(const char *path, err_t *err)
{
    index_t *ix = calloc(1, sizeof *ix);
    if (!ix) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(path, &ix->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        err_set(err, ERR_INTERNAL, "cannot open index %s: %s", path,
                ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
        index_close(ix);
        return NULL;
    }
    sqlite3_busy_timeout(ix->db, 30000);
    /* WAL lets readers run beside the one writer; FULL makes every commit durable, which is
     * what "an acknowledged export is never lost" needs. No mmap_size: reads through a mapping
     * were 47% faster for fetches from a scope of 100k components, but every connection's
     * mapping counts the pages it touched in the daemon's RSS (3 GiB after make bench's scale
     * phase, 103 MiB during its 1 GB export instead of 29). */
    if (exec(ix, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;") != 0) {
        err_set(err, ERR_INTERNAL, "cannot configure index %s: %s", path, sqlite3_errmsg(ix->db));
        index_close(ix);
        return NULL;
    }
    sqlite3_wal_hook(ix->db, on_wal_commit, ix);
    sqlite3_rollback_hook(ix->db, on_rollback, ix);
    return ix;
}

int64_t index_data_version(index_t *ix)
{
    sqlite3_stmt *st = prep(ix, Q_DATA_VERSION);
    int64_t v = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    if (st)
        sqlite3_reset(st);
    return v;
}

void index_close(index_t *ix)
{
    if (!ix)
        return;
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(ix->stmt[i]);
    sqlite3_close(ix->db);
    free(ix);
}

int index_schema_version(index_t *ix)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

int index_migrate(index_t *ix, err_t *err)
{
    for (int i = 0; i < index_migration_count; i++) {
        const migration_t *m = &index_migrations[i];
        if (exec(ix, "BEGIN IMMEDIATE") != 0)
            return err_set(err, ERR_INTERNAL, "cannot lock the index to migrate");
        /* read the version inside the lock: two processes may start at once */
        int have = index_schema_version(ix);
        if (have < 0 || have >= m->version) {
            exec(ix, "ROLLBACK");
            if (have < 0)
                return err_set(err, ERR_INTERNAL, "cannot read the schema version");
            continue;
        }
        char setv[64];
        snprintf(setv, sizeof setv, "PRAGMA user_version=%d", m->version);
        if (exec(ix, m->sql) != 0 || exec(ix, setv) != 0 || exec(ix, "COMMIT") != 0) {
            exec(ix, "ROLLBACK");
            return err_set(err, ERR_INTERNAL, "migration %s failed", m->name);
        }
        log_info("msg=\"index migrated\" migration=%s version=%d", m->name, m->version);
    }
    int latest = index_migration_count ? index_migrations[index_migration_count - 1].version : 0;
    if (index_schema_version(ix) > latest)
        return err_set(err, ERR_INTERNAL,
                       "the index has schema version %d, newer than this binary knows (%d)",
                       index_schema_version(ix), latest);
    return 0;
}

bool index_healthy(index_t *ix)
{
    return ix && exec(ix, "SELECT 1 FROM scopes LIMIT 1") == 0;
}

int index_begin(index_t *ix)
{
    return exec(ix, "BEGIN IMMEDIATE");
}

int index_begin_read(index_t *ix)
{
    return exec(ix, "BEGIN");
}

int index_commit(index_t *ix)
{
    int rc = exec(ix, "COMMIT");
    ix->quiet = false;
    return rc;
}

int index_synced(index_t *ix, bool synced)
{
    return exec(ix, synced ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

void index_rollback(index_t *ix)
{
    if (!sqlite3_get_autocommit(ix->db))
        exec(ix, "ROLLBACK");
    ix->quiet = false;
}

/* ---- scopes */

static void scope_from(sqlite3_stmt *st, scope_row_t *out)
{
    out->id = sqlite3_column_int64(st, 0);
    copy_col(st, 1, out->name, sizeof out->name);
    out->is_public = sqlite3_column_int(st, 2) != 0;
    out->created_at = sqlite3_column_int64(st, 3);
}

int index_scope_create(index_t *ix, const char *name, bool is_public, int64_t now, int64_t *id)
{
    int rc = run(ix, prep_bind(ix, Q_SCOPE_CREATE, "tbi", name, (int)is_public, now));
    if (rc == 0 && id)
        *id = sqlite3_last_insert_rowid(ix->db);
    return rc;
}

int index_scope_get(index_t *ix, const char *name, scope_row_t *out)
{
    sqlite3_stmt *st = prep_bind(ix, Q_SCOPE_GET, "t", name);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        scope_from(st, out);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 1 : -1;
}

int index_scope_each(index_t *ix, int (*fn)(void *ctx, const scope_row_t *s), void *ctx)
{
    sqlite3_stmt *st = prep(ix, Q_SCOPE_EACH);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        scope_row_t s;
        scope_from(st, &s);
        if (fn(ctx, &s)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- objects */

int index_object_get(index_t *ix, int64_t scope, const char *ref, object_row_t *out)
{
    sqlite3_stmt *st = prep_bind(ix, Q_OBJECT_GET, "it", scope, ref);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && out) {
        const char *t = col(st, 0);
        out->type = obj_type_parse(t, strlen(t));
        copy_col(st, 1, out->blob, sizeof out->blob);
        out->size = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_object_put(index_t *ix, int64_t scope, const char *ref, obj_type_t type,
                     const char *blob, int64_t size)
{
    return run(ix, prep_bind(ix, Q_OBJECT_PUT, "ittti", scope, ref, obj_type_name(type), blob,
                             size));
}

static int count_query(index_t *ix, sqlite3_stmt *st, int64_t *n)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    (void)ix;
    return rc == SQLITE_ROW ? 0 : -1;
}

/* A query answering one row of two integers. */
static int pair_query(sqlite3_stmt *st, int64_t *a, int64_t *b)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *a = sqlite3_column_int64(st, 0);
        *b = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int index_object_count(index_t *ix, int64_t scope, int64_t *n)
{
    return count_query(ix, prep_bind(ix, Q_OBJECT_COUNT, "i", scope), n);
}

/* ---- components */

static void component_from(sqlite3_stmt *st, component_row_t *c)
{
    copy_col(st, 0, c->name, sizeof c->name);
    copy_col(st, 1, c->ref, sizeof c->ref);
    copy_col(st, 2, c->head, sizeof c->head);
    copy_col(st, 3, c->latest, sizeof c->latest);
    c->deprecated = sqlite3_column_int(st, 4) != 0;
    c->removed = sqlite3_column_int(st, 5) != 0;
    c->created_at = sqlite3_column_int64(st, 6);
    c->updated_at = sqlite3_column_int64(st, 7);
}

int index_component_get(index_t *ix, int64_t scope, const char *name, component_row_t *out)
{
    sqlite3_stmt *st = prep_bind(ix, Q_COMPONENT_GET, "it", scope, name);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        component_from(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_component_put(index_t *ix, int64_t scope, const component_row_t *c)
{
    return run(ix, prep_bind(ix, Q_COMPONENT_PUT, "itttt" "bbii", scope, c->name, c->ref,
                             c->head[0] ? c->head : NULL, c->latest, (int)c->deprecated,
                             (int)c->removed, c->created_at, c->updated_at));
}

int index_component_set_deprecated(index_t *ix, int64_t scope, const char *name, bool dep)
{
    return run(ix, prep_bind(ix, Q_COMPONENT_DEPRECATE, "itb", scope, name, (int)dep));
}

int index_component_each(index_t *ix, int64_t scope,
                         int (*fn)(void *ctx, const component_row_t *c), void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_COMPONENT_EACH, "i", scope);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        component_row_t c;
        component_from(st, &c);
        if (fn(ctx, &c)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_component_count(index_t *ix, int64_t scope, int64_t *n)
{
    return count_query(ix, prep_bind(ix, Q_COMPONENT_COUNT, "i", scope), n);
}

/* ---- tags and versions */

int index_tag_put(index_t *ix, int64_t scope, const char *component, const char *tag,
                  const char *version)
{
    return run(ix, prep_bind(ix, Q_TAG_PUT, "ittt", scope, component, tag, version));
}

int index_tag_get(index_t *ix, int64_t scope, const char *component, const char *tag,
                  char version[REF_HEX])
{
    sqlite3_stmt *st = prep_bind(ix, Q_TAG_GET, "itt", scope, component, tag);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        copy_col(st, 0, version, REF_HEX);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_tag_each(index_t *ix, int64_t scope, const char *component,
                   int (*fn)(void *ctx, const char *tag, const char *version), void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_TAG_EACH, "it", scope, component);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(ctx, col(st, 0), col(st, 1))) {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_version_put(index_t *ix, int64_t scope, const char *ref, const version_meta_t *m)
{
    return run(ix, prep_bind(ix, Q_VERSION_PUT, "itt" "ttttt", scope, ref, m->component,
                             m->message, m->username, m->email, m->date, m->build_status));
}

int index_version_build_status(index_t *ix, int64_t scope, const char *ref, char *out, size_t len)
{
    sqlite3_stmt *st = prep_bind(ix, Q_VERSION_BUILD_STATUS, "it", scope, ref);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        copy_col(st, 0, out, len);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_version_component(index_t *ix, int64_t scope, const char *ref, char *out, size_t len)
{
    sqlite3_stmt *st = prep_bind(ix, Q_VERSION_COMPONENT, "it", scope, ref);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        copy_col(st, 0, out, len);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_version_ref_put(index_t *ix, int64_t scope, const char *version, int kind,
                          const char *ref)
{
    return run(ix, prep_bind(ix, Q_VREF_PUT, "itit", scope, version, (int64_t)kind, ref));
}

int index_version_ref_each(index_t *ix, int64_t scope, const char *version, int kind,
                           int (*fn)(void *ctx, const char *ref), void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_VREF_EACH, "iti", scope, version, (int64_t)kind);
    if (!st)
        return -1;
    /* collect first: fn may run other queries on this connection, even this one */
    char (*refs)[REF_HEX] = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            void *p = realloc(refs, cap * sizeof *refs);
            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            refs = p;
        }
        copy_col(st, 0, refs[n++], REF_HEX);
    }
    sqlite3_reset(st);
    int out = rc == SQLITE_DONE ? 0 : -1;
    for (size_t i = 0; out == 0 && i < n; i++)
        if (fn(ctx, refs[i]))
            break;
    free(refs);
    return out;
}

int index_version_objects(index_t *ix, int64_t scope, const char *version, int kind,
                          vref_object_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = prep_bind(ix, Q_VREF_OBJECTS, "iti", scope, version, (int64_t)kind);
    if (!st)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            void *p = realloc(*out, cap * sizeof **out);
            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = p;
        }
        vref_object_t *o = &(*out)[(*n)++];
        const char *t = col(st, 1);
        copy_col(st, 0, o->ref, REF_HEX);
        o->row.type = obj_type_parse(t, strlen(t));
        copy_col(st, 2, o->row.blob, BLOB_HEX);
        o->row.size = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}

int index_version_dep_put(index_t *ix, int64_t scope, const char *version, const char *dep_scope,
                          const char *dep_name, const char *dep_version)
{
    return run(ix, prep_bind(ix, Q_VDEP_PUT, "itttt", scope, version, dep_scope, dep_name,
                             dep_version));
}

/* Steps st to its end, keeping the first ncols text columns of every row NUL-separated in rows:
 * the callers' fn may query this connection, even this statement, so rows are read first. */
static int collect_rows(sqlite3_stmt *st, int ncols, buf_t *rows)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        for (int c = 0; c < ncols; c++)
            if (!buf_append(rows, col(st, c), strlen(col(st, c)) + 1))
                rc = SQLITE_NOMEM;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The field after f in collected rows. */
static const char *next_field(const char *f)
{
    return f + strlen(f) + 1;
}

int index_version_dep_each(index_t *ix, int64_t scope, const char *version,
                           int (*fn)(void *ctx, const char *dscope, const char *dname,
                                     const char *dversion),
                           void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_VDEP_EACH, "it", scope, version);
    if (!st)
        return -1;
    buf_t rows;
    buf_init(&rows);
    int out = collect_rows(st, 3, &rows);
    const char *end = (const char *)rows.data + rows.len;
    for (const char *a = (const char *)rows.data; out == 0 && a && a < end;) {
        const char *b = next_field(a), *c = next_field(b);
        if (fn(ctx, a, b, c))
            break;
        a = next_field(c);
    }
    buf_free(&rows);
    return out;
}

/* ---- pending exports */

int index_pending_create(index_t *ix, int64_t scope, const char *client_id, const char *owner,
                         int64_t now)
{
    return run(ix, prep_bind(ix, Q_PENDING_CREATE, "itti", scope, client_id, owner, now));
}

int index_pending_get(index_t *ix, int64_t scope, const char *client_id, pending_row_t *out)
{
    sqlite3_stmt *st = prep_bind(ix, Q_PENDING_GET, "it", scope, client_id);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        copy_col(st, 0, out->state, sizeof out->state);
        copy_col(st, 1, out->owner, sizeof out->owner);
        out->created_at = sqlite3_column_int64(st, 2);
        out->updated_at = sqlite3_column_int64(st, 3);
        const unsigned char *r = sqlite3_column_text(st, 4);
        out->result = r ? strdup((const char *)r) : NULL;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_pending_persisted(index_t *ix, int64_t scope, const char *client_id,
                            const char *result, int64_t now)
{
    if (run(ix, prep_bind(ix, Q_PENDING_OBJECTS_DELETE, "it", scope, client_id)) != 0)
        return -1;
    return run(ix, prep_bind(ix, Q_PENDING_PERSISTED, "itti", scope, client_id, result, now));
}

int index_pending_delete(index_t *ix, int64_t scope, const char *client_id)
{
    if (run(ix, prep_bind(ix, Q_PENDING_OBJECTS_DELETE, "it", scope, client_id)) != 0)
        return -1;
    return run(ix, prep_bind(ix, Q_PENDING_DELETE, "it", scope, client_id));
}

int index_pending_object_put(index_t *ix, int64_t scope, const char *client_id, const char *ref,
                             obj_type_t type, const char *blob, int64_t size)
{
    return run(ix, prep_bind(ix, Q_PENDING_OBJECT_PUT, "itttti", scope, client_id, ref,
                             obj_type_name(type), blob, size));
}

int index_pending_object_each(index_t *ix, int64_t scope, const char *client_id,
                              int (*fn)(void *ctx, const char *ref, obj_type_t type,
                                        const char *blob, int64_t size),
                              void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_PENDING_OBJECT_EACH, "it", scope, client_id);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = col(st, 1);
        if (fn(ctx, col(st, 0), obj_type_parse(t, strlen(t)), col(st, 2),
               sqlite3_column_int64(st, 3))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_pending_expire(index_t *ix, int64_t before, int64_t *n)
{
    if (run(ix, prep_bind(ix, Q_PENDING_EXPIRE_OBJECTS, "i", before)) != 0)
        return -1;
    if (run(ix, prep_bind(ix, Q_PENDING_EXPIRE, "i", before)) != 0)
        return -1;
    if (n)
        *n = sqlite3_changes(ix->db);
    return 0;
}

int index_pending_count(index_t *ix, int64_t *n)
{
    return count_query(ix, prep(ix, Q_PENDING_COUNT), n);
}

int index_pending_count_owner(index_t *ix, const char *owner, int64_t *n)
{
    return count_query(ix, prep_bind(ix, Q_PENDING_COUNT_OWNER, "t", owner), n);
}

int index_blob_referenced(index_t *ix, const char *blob)
{
    sqlite3_stmt *st = prep_bind(ix, Q_BLOB_REFERENCED, "t", blob);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/* ---- inline blobs */

bool index_in_transaction(index_t *ix)
{
    return !sqlite3_get_autocommit(ix->db);
}

/* A blob's row id: the first 64 bits of its name; -1 for a name that is not 64 hex digits. */
int index_blob_row_id(const char *name, int64_t *id)
{
    unsigned char b[8];
    if (strlen(name) != 64 || !is_hex(name, 64) || !hex_decode(name, 16, b))
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    memcpy(id, &v, sizeof *id);
    return 0;
}

int index_blob_data_put(index_t *ix, const char *name, const void *data, size_t len, int64_t now)
{
    int64_t id;
    if (index_blob_row_id(name, &id) != 0)
        return -1;
    sqlite3_stmt *st = prep_bind(ix, Q_BLOB_DATA_PUT, "itbi", id, name, 0, now);
    if (!st || sqlite3_bind_blob64(st, 3, data, len, SQLITE_STATIC) != SQLITE_OK)
        return -1;
    if (run(ix, st) != 0)
        return -1;
    return sqlite3_changes(ix->db) == 1 ? 0 : 1; /* 1: another name holds the id */
}

int index_blob_data_get(index_t *ix, const char *name, uint64_t max, buf_t *out)
{
    int64_t id;
    if (index_blob_row_id(name, &id) != 0)
        return 1;
    sqlite3_stmt *st = prep_bind(ix, Q_BLOB_DATA_GET, "it", id, name);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        buf_reset(out);
        if (n > max || !buf_reserve(out, n)) {
            sqlite3_reset(st);
            return -1;
        }
        if (n)
            memcpy(out->data, p, n);
        out->len = n;
        out->data[n] = 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_blob_data_each(index_t *ix,
                         int (*fn)(void *ctx, const char *name, const void *data, size_t len),
                         void *ctx)
{
    sqlite3_stmt *st = prep(ix, Q_BLOB_DATA_EACH);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 1);
        if (fn(ctx, col(st, 0), p ? p : "", (size_t)sqlite3_column_bytes(st, 1))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_blob_data_gc(index_t *ix, int64_t stale_before, uint64_t *n, uint64_t *bytes)
{
    sqlite3_stmt *st = prep_bind(ix, Q_BLOB_DATA_GC, "i", stale_before);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        (*n)++;
        *bytes += (uint64_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_blob_data_stats(index_t *ix, int64_t *n, int64_t *bytes)
{
    return pair_query(prep(ix, Q_BLOB_DATA_STATS), n, bytes);
}

int index_blob_data_delete(index_t *ix, const char *name)
{
    int64_t id;
    if (index_blob_row_id(name, &id) != 0)
        return -1;
    return run(ix, prep_bind(ix, Q_BLOB_DATA_DELETE, "it", id, name)) == 0 ? 0 : -1;
}

int index_object_each_all(index_t *ix,
                          int (*fn)(void *ctx, int64_t scope, const char *ref, obj_type_t type,
                                    const char *blob, int64_t size),
                          void *ctx)
{
    sqlite3_stmt *st = prep(ix, Q_OBJECT_EACH_ALL);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = col(st, 2);
        if (fn(ctx, sqlite3_column_int64(st, 0), col(st, 1), obj_type_parse(t, strlen(t)),
               col(st, 3), sqlite3_column_int64(st, 4))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- users, tokens, members, audit */

static void user_from(sqlite3_stmt *st, user_row_t *u)
{
    u->id = sqlite3_column_int64(st, 0);
    copy_col(st, 1, u->name, sizeof u->name);
    copy_col(st, 2, u->password, sizeof u->password);
    u->is_admin = sqlite3_column_int(st, 3) != 0;
    u->created_at = sqlite3_column_int64(st, 4);
}

static int user_query(index_t *ix, sqlite3_stmt *st, user_row_t *out)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        user_from(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
    (void)ix;
}

int index_user_create(index_t *ix, const char *name, const char *password, bool is_admin,
                      int64_t now, int64_t *id)
{
    int rc = run(ix, prep_bind(ix, Q_USER_CREATE, "ttbi", name, password, (int)is_admin, now));
    if (rc == 0 && id)
        *id = sqlite3_last_insert_rowid(ix->db);
    return rc;
}

int index_user_get(index_t *ix, const char *name, user_row_t *out)
{
    return user_query(ix, prep_bind(ix, Q_USER_GET, "t", name), out);
}

int index_user_get_id(index_t *ix, int64_t id, user_row_t *out)
{
    return user_query(ix, prep_bind(ix, Q_USER_GET_ID, "i", id), out);
}

int index_user_set_password(index_t *ix, int64_t id, const char *password)
{
    return run(ix, prep_bind(ix, Q_USER_SET_PASSWORD, "it", id, password));
}

int index_user_count(index_t *ix, int64_t *n)
{
    return count_query(ix, prep(ix, Q_USER_COUNT), n);
}

int index_user_each(index_t *ix, int (*fn)(void *ctx, const user_row_t *u), void *ctx)
{
    sqlite3_stmt *st = prep(ix, Q_USER_EACH);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        user_row_t u;
        user_from(st, &u);
        if (fn(ctx, &u)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int64_t col_int_or0(sqlite3_stmt *st, int c)
{
    return sqlite3_column_type(st, c) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, c);
}

static void token_from(sqlite3_stmt *st, token_row_t *t)
{
    t->id = sqlite3_column_int64(st, 0);
    t->user_id = sqlite3_column_int64(st, 1);
    copy_col(st, 2, t->label, sizeof t->label);
    t->created_at = sqlite3_column_int64(st, 3);
    t->expires_at = col_int_or0(st, 4);
    t->last_used = col_int_or0(st, 5);
    t->revoked_at = col_int_or0(st, 6);
    copy_col(st, 7, t->user, sizeof t->user);
}

int index_token_create(index_t *ix, int64_t user_id, const char *label, const char *hash,
                       int64_t now, int64_t expires_at, int64_t *id)
{
    sqlite3_stmt *st = prep_bind(ix, Q_TOKEN_CREATE, "itti", user_id, label, hash, now);
    if (st && expires_at)
        sqlite3_bind_int64(st, 5, expires_at);
    int rc = run(ix, st);
    if (rc == 0 && id)
        *id = sqlite3_last_insert_rowid(ix->db);
    return rc;
}

static int token_query(sqlite3_stmt *st, token_row_t *out)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        token_from(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_token_lookup(index_t *ix, const char *hash, token_row_t *out)
{
    return token_query(prep_bind(ix, Q_TOKEN_LOOKUP, "t", hash), out);
}

int index_token_get(index_t *ix, int64_t id, token_row_t *out)
{
    return token_query(prep_bind(ix, Q_TOKEN_GET, "i", id), out);
}

int index_token_touch(index_t *ix, int64_t id, int64_t now)
{
    ix->quiet = true;
    int rc = run(ix, prep_bind(ix, Q_TOKEN_TOUCH, "ii", id, now));
    ix->quiet = false;
    return rc;
}

int index_token_revoke(index_t *ix, int64_t id, int64_t now)
{
    int rc = run(ix, prep_bind(ix, Q_TOKEN_REVOKE, "ii", id, now));
    return rc == 0 && sqlite3_changes(ix->db) == 0 ? 1 : rc;
}

int index_token_each(index_t *ix, int64_t user_id,
                     int (*fn)(void *ctx, const token_row_t *t), void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_TOKEN_EACH, "i", user_id);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        token_row_t t;
        token_from(st, &t);
        if (fn(ctx, &t)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_member_set(index_t *ix, int64_t scope, int64_t user, const char *role)
{
    return run(ix, prep_bind(ix, Q_MEMBER_SET, "iit", scope, user, role));
}

int index_member_role(index_t *ix, int64_t scope, int64_t user, char role[16])
{
    sqlite3_stmt *st = prep_bind(ix, Q_MEMBER_ROLE, "ii", scope, user);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        copy_col(st, 0, role, 16);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_member_delete(index_t *ix, int64_t scope, int64_t user)
{
    int rc = run(ix, prep_bind(ix, Q_MEMBER_DELETE, "ii", scope, user));
    return rc == 0 && sqlite3_changes(ix->db) == 0 ? 1 : rc;
}

int index_member_each(index_t *ix, int64_t scope,
                      int (*fn)(void *ctx, const char *user, const char *role), void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_MEMBER_EACH, "i", scope);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(ctx, col(st, 0), col(st, 1))) {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_audit_add(index_t *ix, int64_t now, const char *actor, const char *address,
                    const char *action, const char *scope, const char *detail)
{
    return run(ix, prep_bind(ix, Q_AUDIT_ADD, "itt" "ttt", now, actor, address, action, scope,
                             detail));
}

int index_audit_each(index_t *ix, int64_t limit, int (*fn)(void *ctx, const audit_row_t *a),
                     void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_AUDIT_EACH, "i", limit);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        audit_row_t a = {sqlite3_column_int64(st, 0), col(st, 1), col(st, 2), col(st, 3),
                         col(st, 4), col(st, 5)};
        if (fn(ctx, &a)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- lanes */

int index_lane_put(index_t *ix, int64_t scope, const char *name, const char *ref, int64_t now)
{
    return run(ix, prep_bind(ix, Q_LANE_PUT, "itti", scope, name, ref, now));
}

int index_lane_get(index_t *ix, int64_t scope, const char *name, char ref[REF_HEX])
{
    sqlite3_stmt *st = prep_bind(ix, Q_LANE_GET, "it", scope, name);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        copy_col(st, 0, ref, REF_HEX);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_lane_each(index_t *ix, int64_t scope,
                    int (*fn)(void *ctx, const char *name, const char *ref), void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_LANE_EACH, "i", scope);
    if (!st)
        return -1;
    buf_t rows;
    buf_init(&rows);
    int out = collect_rows(st, 2, &rows);
    const char *end = (const char *)rows.data + rows.len;
    for (const char *a = (const char *)rows.data; out == 0 && a && a < end;) {
        const char *b = next_field(a);
        if (fn(ctx, a, b))
            break;
        a = next_field(b);
    }
    buf_free(&rows);
    return out;
}

int index_lane_delete(index_t *ix, int64_t scope, const char *name)
{
    int rc = run(ix, prep_bind(ix, Q_LANE_DELETE, "it", scope, name));
    return rc == 0 && sqlite3_changes(ix->db) == 0 ? 1 : rc;
}

/* ---- browser sessions */

int index_session_create(index_t *ix, int64_t user_id, const char *hash, int64_t now,
                         int64_t expires_at)
{
    return run(ix, prep_bind(ix, Q_SESSION_CREATE, "itii", user_id, hash, now, expires_at));
}

int index_session_lookup(index_t *ix, const char *hash, int64_t *user_id, int64_t *expires_at)
{
    sqlite3_stmt *st = prep_bind(ix, Q_SESSION_LOOKUP, "t", hash);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *user_id = sqlite3_column_int64(st, 0);
        *expires_at = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_session_delete(index_t *ix, const char *hash)
{
    return run(ix, prep_bind(ix, Q_SESSION_DELETE, "t", hash));
}

int index_session_expire(index_t *ix, int64_t now, int64_t *n)
{
    ix->quiet = true; /* sessions are in no reply */
    int rc = run(ix, prep_bind(ix, Q_SESSION_EXPIRE, "i", now));
    ix->quiet = false;
    if (rc == 0 && n)
        *n = sqlite3_changes(ix->db);
    return rc;
}

/* ---- what the web pages list */

int index_scope_summary(index_t *ix, int64_t scope, int64_t *components, int64_t *updated_at)
{
    return pair_query(prep_bind(ix, Q_SCOPE_SUMMARY, "i", scope), components, updated_at);
}

int index_component_list(index_t *ix, int64_t scope, const char *match,
                         int (*fn)(void *ctx, const component_row_t *c, const version_row_t *v),
                         void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_COMPONENT_LIST, "it", scope, match && *match ? match : NULL);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        component_row_t c;
        component_from(st, &c);
        version_row_t v = {.ref = c.head, .tags = "", .message = "", .username = col(st, 8),
                           .email = col(st, 9), .date = col(st, 10)};
        if (fn(ctx, &c, &v)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void version_from(sqlite3_stmt *st, version_row_t *v)
{
    *v = (version_row_t){col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4), col(st, 5)};
}

int index_version_each_of(index_t *ix, int64_t scope, const char *component,
                          int (*fn)(void *ctx, const version_row_t *v), void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_VERSION_EACH_OF, "it", scope, component);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        version_row_t v;
        version_from(st, &v);
        if (fn(ctx, &v)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_version_get(index_t *ix, int64_t scope, const char *ref,
                      int (*fn)(void *ctx, const version_row_t *v), void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_VERSION_GET, "it", scope, ref);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        version_row_t v;
        version_from(st, &v);
        fn(ctx, &v);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_dependent_each(index_t *ix, int64_t scope, const char *dep_scope, const char *dep_name,
                         int (*fn)(void *ctx, const char *component, const char *versions),
                         void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_DEPENDENT_EACH, "itt", scope, dep_scope, dep_name);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(ctx, col(st, 0), col(st, 1))) {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}
/* ---- removal (api/scope/delete) */

int index_object_delete(index_t *ix, int64_t scope, const char *ref)
{
    return run(ix, prep_bind(ix, Q_OBJECT_DELETE, "it", scope, ref));
}

int index_component_delete(index_t *ix, int64_t scope, const char *name)
{
    int rc = run(ix, prep_bind(ix, Q_COMPONENT_DELETE, "it", scope, name));
    return rc == 0 ? run(ix, prep_bind(ix, Q_TAG_DELETE_ALL, "it", scope, name)) : rc;
}

int index_version_delete(index_t *ix, int64_t scope, const char *ref)
{
    int rc = run(ix, prep_bind(ix, Q_VERSION_DELETE, "it", scope, ref));
    if (rc == 0)
        rc = run(ix, prep_bind(ix, Q_VREF_DELETE, "it", scope, ref));
    return rc == 0 ? run(ix, prep_bind(ix, Q_VDEP_DELETE, "it", scope, ref)) : rc;
}

int index_component_dependents(index_t *ix, int64_t scope, const char *dep_scope,
                               const char *dep_name, int (*fn)(void *ctx, const char *name),
                               void *ctx)
{
    sqlite3_stmt *st = prep_bind(ix, Q_DEPENDENTS, "itt", scope, dep_scope, dep_name);
    if (!st)
        return -1;
    buf_t names;
    buf_init(&names);
    int rc;
    /* collect first, as fn may query this connection */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!buf_append(&names, col(st, 0), strlen(col(st, 0)) + 1))
            rc = SQLITE_NOMEM;
    sqlite3_reset(st);
    int out = rc == SQLITE_DONE ? 0 : -1;
    for (size_t off = 0; out == 0 && off < names.len;) {
        const char *n = (const char *)names.data + off;
        off += strlen(n) + 1;
        if (fn(ctx, n))
            break;
    }
    buf_free(&names);
    return out;
}

/* ---- operations: fsck, gc, backup, WAL upkeep */

int index_object_count_all(index_t *ix, int64_t *n)
{
    return count_query(ix, prep(ix, Q_OBJECT_COUNT_ALL), n);
}

int index_scope_count_all(index_t *ix, int64_t *n)
{
    return count_query(ix, prep(ix, Q_SCOPE_COUNT_ALL), n);
}

int index_pending_object_each_all(index_t *ix,
                                  int (*fn)(void *ctx, int64_t scope, const char *client_id,
                                            const char *ref, obj_type_t type, const char *blob,
                                            int64_t size),
                                  void *ctx)
{
    sqlite3_stmt *st = prep(ix, Q_PENDING_OBJECT_EACH_ALL);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = col(st, 3);
        if (fn(ctx, sqlite3_column_int64(st, 0), col(st, 1), col(st, 2),
               obj_type_parse(t, strlen(t)), col(st, 4), sqlite3_column_int64(st, 5))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_blob_each_referenced(index_t *ix, int (*fn)(void *ctx, const char *blob), void *ctx)
{
    sqlite3_stmt *st = prep(ix, Q_BLOB_EACH_REFERENCED);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(ctx, col(st, 0))) {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_blob_object_row(index_t *ix, const char *blob, int64_t *scope, char ref[REF_HEX])
{
    sqlite3_stmt *st = prep_bind(ix, Q_BLOB_OBJECT_ROW, "t", blob);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *scope = sqlite3_column_int64(st, 0);
        copy_col(st, 1, ref, REF_HEX);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int index_pending_drop_by_blob(index_t *ix, const char *blob, int64_t *n)
{
    if (run(ix, prep_bind(ix, Q_PENDING_DROP_BY_BLOB, "t", blob)) != 0)
        return -1;
    if (n)
        *n = sqlite3_changes(ix->db);
    return run(ix, prep(ix, Q_PENDING_OBJECTS_ORPHANED));
}

int index_quick_check(index_t *ix, int (*fn)(void *ctx, const char *problem), void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ix->db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc, problems = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = col(st, 0);
        if (strcmp(line, "ok") != 0) {
            problems++;
            fn(ctx, line);
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? problems : -1;
}

int index_backup(index_t *ix, const char *dest, err_t *err)
{
    sqlite3 *out = NULL;
    if (sqlite3_open_v2(dest, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        err_set(err, ERR_INTERNAL, "cannot create %s: %s", dest,
                out ? sqlite3_errmsg(out) : "out of memory");
        sqlite3_close(out);
        return -1;
    }
    /* one step copies every page inside one read transaction of the source: a consistent
     * snapshot that writers (WAL) never wait for */
    sqlite3_backup *b = sqlite3_backup_init(out, "main", ix->db, "main");
    int rc = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
    if (b)
        sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        err_set(err, ERR_INTERNAL, "cannot copy the index: %s", sqlite3_errmsg(out));
    sqlite3_close(out);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_checkpoint(index_t *ix, int busy_ms, int *wal_frames, int *checkpointed)
{
    sqlite3_busy_timeout(ix->db, busy_ms);
    int rc = sqlite3_wal_checkpoint_v2(ix->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, wal_frames,
                                       checkpointed);
    sqlite3_busy_timeout(ix->db, 30000);
    return rc == SQLITE_OK ? 0 : rc == SQLITE_BUSY ? 1 : -1;
}
