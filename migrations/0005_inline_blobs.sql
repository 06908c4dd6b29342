-- scoped index, version 5: small blobs kept in the index instead of a file each. Most objects
-- are a few hundred bytes, and a file per object costs an inode, a rename and a directory
-- entry; thousands of them in one export are most of its time. Larger blobs stay files.
-- created_at is gc's grace: a row nothing names yet may be one an upload is about to name.
-- id is the first 64 bits of the name (a BLAKE2b-256), so that a blob is found with one lookup
-- of the table's own b-tree and no index beside it; the name is checked too. A blob whose id
-- another name holds already (about 1 in 2^64 per pair) is stored as a file instead.

CREATE TABLE blob_data (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    data       BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
