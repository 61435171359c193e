-- The local profile's ingest log (ingest.db): the logged batches of accepted events and each track's
-- totals as of the last checkpoint. Idempotent: safe to apply at every start.
PRAGMA journal_mode=WAL;

CREATE TABLE IF NOT EXISTS apex_tracks (
    track_id   TEXT    NOT NULL PRIMARY KEY,
    platform   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL DEFAULT 0,
    streams    INTEGER NOT NULL DEFAULT 0,
    likes      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- The platforms with a registered track. Listings by streams, likes and age are served by the
-- population grains from memory, so apex_tracks keeps no index per listing order: a catalogue's random
-- counts and creation times made every bulk commit rewrite thousands of index pages. Earlier versions'
-- platforms are read once, through the index that is dropped after.
CREATE TABLE IF NOT EXISTS apex_platforms (
    platform TEXT NOT NULL PRIMARY KEY
) WITHOUT ROWID;

INSERT OR IGNORE INTO apex_platforms (platform)
SELECT DISTINCT platform FROM apex_tracks WHERE EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'ix_apex_tracks_streams');

DROP INDEX IF EXISTS ix_apex_tracks_streams;
DROP INDEX IF EXISTS ix_apex_tracks_likes;
DROP INDEX IF EXISTS ix_apex_tracks_created;

CREATE TABLE IF NOT EXISTS apex_events (
    track_id  TEXT    NOT NULL,
    event_id  TEXT    NOT NULL,
    track_seq INTEGER NOT NULL,
    kind      INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    ts        TEXT    NOT NULL,
    PRIMARY KEY (track_id, event_id)
) WITHOUT ROWID;

-- The log itself: one row per commit, holding every event the commit accepted, packed. apex_events
-- above is the layout of earlier versions, whose rows move into a batch at start.
CREATE TABLE IF NOT EXISTS apex_batches (
    seq    INTEGER PRIMARY KEY,
    events BLOB    NOT NULL
);

-- Tracks registered in bulk (POST /tracks/batch): the whole registration, written in the same
-- transaction as their apex_tracks rows. Their track grains read it from here when first asked, so a
-- catalogue of a million tracks costs rows, not grain state writes. backfill_seq orders their scoring.
CREATE TABLE IF NOT EXISTS apex_catalogue (
    track_id      TEXT    NOT NULL PRIMARY KEY,
    registration  TEXT    NOT NULL,
    registered_at INTEGER NOT NULL,
    backfill_seq  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS ix_apex_catalogue_backfill ON apex_catalogue (backfill_seq);

-- Each track's curve (GET /tracks/{id}/timeline): streams and likes per bucket of event time, hourly and
-- daily (width in seconds, start in Unix seconds). Rolled up from the logged batches at each checkpoint;
-- rolled_through is the last batch summed in, so a restart sums the rest exactly once.
CREATE TABLE IF NOT EXISTS apex_timeline (
    track_id TEXT    NOT NULL,
    width    INTEGER NOT NULL,
    start    INTEGER NOT NULL,
    streams  INTEGER NOT NULL,
    likes    INTEGER NOT NULL,
    PRIMARY KEY (track_id, width, start)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS apex_timeline_cursor (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    rolled_through INTEGER NOT NULL
);

-- A log from before the curves existed starts them at its last batch: its past is in the totals only.
INSERT OR IGNORE INTO apex_timeline_cursor (id, rolled_through) SELECT 1, COALESCE(MAX(seq), 0) FROM apex_batches;
