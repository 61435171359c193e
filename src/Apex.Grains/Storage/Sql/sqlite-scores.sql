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

-- Schema version 5: the latest events of some types (the console's live signals) without a scan past every scored track.
CREATE INDEX IF NOT EXISTS ix_apex_signals_type ON apex_signals (type, seq);

-- Schema version 5: webhooks. A subscription receives the feed's events after from_seq (the last one
-- when it was made) of its types and platforms (comma-separated; platforms empty: all).
CREATE TABLE IF NOT EXISTS apex_webhook_subscriptions (
    id          TEXT    NOT NULL PRIMARY KEY,
    url         TEXT    NOT NULL,
    types       TEXT    NOT NULL,
    platforms   TEXT    NOT NULL,
    description TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    -- After a rotation, the previous secret signs too (a second v1) until previous_until (Unix ms).
    previous_secret TEXT NULL,
    previous_until  INTEGER NULL,
    from_seq    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

-- The outbox: one row per subscription and event (id "{subscription}-{seq}", the delivery id a receiver
-- deduplicates on), written in the same transaction as the dispatcher's cursor; status pending,
-- delivered or failed (attempts exhausted); times in Unix milliseconds.
CREATE TABLE IF NOT EXISTS apex_webhook_deliveries (
    id              TEXT    NOT NULL PRIMARY KEY,
    subscription_id TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    type            TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_at         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    last_attempt_at INTEGER NULL,
    last_status     INTEGER NULL,
    last_error      TEXT    NULL,
    delivered_at    INTEGER NULL
);

CREATE INDEX IF NOT EXISTS ix_apex_webhook_deliveries_due ON apex_webhook_deliveries (status, next_at);
CREATE INDEX IF NOT EXISTS ix_apex_webhook_deliveries_subscription ON apex_webhook_deliveries (subscription_id, seq);

-- The last feed event the dispatcher turned into deliveries (one row, id 0).
CREATE TABLE IF NOT EXISTS apex_webhook_cursor (
    id  INTEGER NOT NULL PRIMARY KEY,
    seq INTEGER NOT NULL
);
