-- scoped index, version 1: scopes, stored objects, what fetch and merge need, pending exports.
-- Refs are Bit's 40-hex object hashes; blobs are BLAKE2b-256 hex names in the blob store.

CREATE TABLE scopes (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    public     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- every object a scope holds, by Bit ref
CREATE TABLE objects (
    scope_id INTEGER NOT NULL REFERENCES scopes(id),
    ref      TEXT NOT NULL,
    type     TEXT NOT NULL,
    blob     TEXT NOT NULL,
    size     INTEGER NOT NULL,
    PRIMARY KEY (scope_id, ref)
) WITHOUT ROWID;
CREATE INDEX objects_blob ON objects(blob);

-- the components of a scope; ref is the Component object's ref, sha1("scope/name")
CREATE TABLE components (
    scope_id    INTEGER NOT NULL REFERENCES scopes(id),
    name        TEXT NOT NULL,
    ref         TEXT NOT NULL,
    head        TEXT,              -- head Version ref; NULL for legacy components
    latest      TEXT NOT NULL,     -- what "latest" means: the head as tag or hash, else the highest tag
    deprecated  INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (scope_id, name)
) WITHOUT ROWID;

CREATE TABLE tags (
    scope_id  INTEGER NOT NULL,
    component TEXT NOT NULL,
    tag       TEXT NOT NULL,
    version   TEXT NOT NULL,
    PRIMARY KEY (scope_id, component, tag)
) WITHOUT ROWID;

-- Version objects, with what pages and logs show without inflating them
CREATE TABLE versions (
    scope_id     INTEGER NOT NULL,
    ref          TEXT NOT NULL,
    component    TEXT,
    message      TEXT,
    username     TEXT,
    email        TEXT,
    date         TEXT,
    build_status TEXT,
    PRIMARY KEY (scope_id, ref)
) WITHOUT ROWID;

-- what a Version references: kind 0 = Source it needs, 1 = parent Version, 2 = artifact Source
CREATE TABLE version_refs (
    scope_id INTEGER NOT NULL,
    version  TEXT NOT NULL,
    kind     INTEGER NOT NULL,
    ref      TEXT NOT NULL,
    PRIMARY KEY (scope_id, version, kind, ref)
) WITHOUT ROWID;

-- flattened dependencies of a Version
CREATE TABLE version_deps (
    scope_id    INTEGER NOT NULL,
    version     TEXT NOT NULL,
    dep_scope   TEXT NOT NULL,
    dep_name    TEXT NOT NULL,
    dep_version TEXT NOT NULL,
    PRIMARY KEY (scope_id, version, dep_scope, dep_name, dep_version)
) WITHOUT ROWID;
CREATE INDEX version_deps_target ON version_deps(scope_id, dep_scope, dep_name);

-- exports between put and ExportPersist, and the ids a persisted one returned
CREATE TABLE pending (
    scope_id   INTEGER NOT NULL,
    client_id  TEXT NOT NULL,
    owner      TEXT,
    state      TEXT NOT NULL,      -- 'uploaded' or 'persisted'
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    result     TEXT,               -- JSON array of merged ids once persisted
    PRIMARY KEY (scope_id, client_id)
) WITHOUT ROWID;

CREATE TABLE pending_objects (
    scope_id  INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    ref       TEXT NOT NULL,
    type      TEXT NOT NULL,
    blob      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    PRIMARY KEY (scope_id, client_id, ref)
) WITHOUT ROWID;
CREATE INDEX pending_objects_blob ON pending_objects(blob);
