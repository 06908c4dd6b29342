-- scoped index, version 5: small blobs kept in the index instead of a file each. Most objects
-- are a few hundred bytes, and a file per object costs an inode, a rename and a directory
-- entry; thousands of them in one export are most of its time. Larger blobs stay files.
-- created_at is gc's grace: a row nothing names yet may be one an upload is about to name.

CREATE TABLE blob_data (
    name       TEXT PRIMARY KEY,
    data       BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
