-- scoped index, version 2: users, API tokens (stored hashed), scope membership, audit log.

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    password   TEXT,                -- Argon2id string (crypto_pwhash_str); NULL: token-only user
    is_admin   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- an API token is shown once; only its BLAKE2b-256 is kept
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    label      TEXT NOT NULL DEFAULT '',
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,             -- NULL: never
    last_used  INTEGER,
    revoked_at INTEGER
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE members (
    scope_id INTEGER NOT NULL REFERENCES scopes(id),
    user_id  INTEGER NOT NULL REFERENCES users(id),
    role     TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'viewer')),
    PRIMARY KEY (scope_id, user_id)
) WITHOUT ROWID;

-- who exported, deleted or changed access, when, and from where
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    address TEXT NOT NULL,
    action  TEXT NOT NULL,
    scope   TEXT,
    detail  TEXT
);
