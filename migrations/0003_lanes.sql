-- scoped index, version 3: lanes. The Lane object (in objects) is the source of truth; this
-- table finds a scope's lanes by name.
CREATE TABLE lanes (
    scope_id   INTEGER NOT NULL REFERENCES scopes(id),
    name       TEXT NOT NULL,
    ref        TEXT NOT NULL,     -- the Lane object's ref (its hash, chosen at lane creation)
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (scope_id, name)
) WITHOUT ROWID;
