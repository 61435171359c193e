-- The local profile's score store (scores.db): one embedding per track and its latest prediction.
-- Idempotent: safe to apply at every start.
PRAGMA journal_mode=WAL;

CREATE TABLE IF NOT EXISTS apex_embeddings (
    track_id         TEXT    NOT NULL PRIMARY KEY,
    encoder          TEXT    NOT NULL,
    segments         INTEGER NOT NULL,
    layers           INTEGER NOT NULL,
    hidden           INTEGER NOT NULL,
    duration_seconds REAL    NOT NULL,
    silo             TEXT    NOT NULL,
    data             BLOB    NOT NULL
);

CREATE TABLE IF NOT EXISTS apex_predictions (
    track_id      TEXT NOT NULL PRIMARY KEY,
    platform      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    model_version TEXT NOT NULL,
    model_label   TEXT NULL,
    streams       REAL NOT NULL,
    likes         REAL NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_apex_predictions_platform ON apex_predictions (platform);

-- The signal feed (GET /stream): every breakout, scored track and promoted model once (key), numbered
-- in the order recorded; at in Unix milliseconds, data the event's JSON body.
CREATE TABLE IF NOT EXISTS apex_signals (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    type     TEXT    NOT NULL,
    key      TEXT    NOT NULL UNIQUE,
    platform TEXT    NULL,
    track_id TEXT    NULL,
    at       INTEGER NOT NULL,
    data     TEXT    NOT NULL
);
