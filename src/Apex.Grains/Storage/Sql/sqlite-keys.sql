-- The local profile's API keys (keys.db): hashes only, never a key in clear. Idempotent.
CREATE TABLE IF NOT EXISTS apex_keys (
    id         TEXT NOT NULL PRIMARY KEY,
    hash       BLOB NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NULL,
    revoked_at TEXT NULL
);
