-- scoped index, version 4: browser sessions of the web pages. Like tokens, a session is a random
-- secret given once (in an HttpOnly cookie); only its BLAKE2b-256 is kept, with its expiry.

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- the scope page lists components with the author of their latest version, and a component page
-- its versions: both look versions up by component
CREATE INDEX versions_component ON versions(scope_id, component);
