-- The local profile's battle log (arena.db). Idempotent: safe to apply at every start.
PRAGMA journal_mode=WAL;

CREATE TABLE IF NOT EXISTS apex_battles (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    battle_id    TEXT    NOT NULL UNIQUE,
    model_a      TEXT    NOT NULL,
    model_b      TEXT    NOT NULL,
    winner       INTEGER NOT NULL,
    instrumental INTEGER NULL,
    track_a      TEXT    NULL,
    track_b      TEXT    NULL,
    voter_hash   TEXT    NULL,
    day          TEXT    NOT NULL,
    received_at  TEXT    NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_apex_battles_voter ON apex_battles (voter_hash, day);
