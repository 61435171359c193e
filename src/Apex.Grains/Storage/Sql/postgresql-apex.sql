-- ApexCluster's own tables on PostgreSQL (cluster profile): the ingest log with each track's running
-- totals, and the API keys. Idempotent, applied by `apex db init` with the Orleans scripts beside it.

CREATE TABLE IF NOT EXISTS apex_tracks
(
    track_id   text        NOT NULL PRIMARY KEY,
    platform   text        NOT NULL,
    created_at timestamptz NOT NULL,
    last_seq   bigint      NOT NULL DEFAULT 0,
    streams    bigint      NOT NULL DEFAULT 0,
    likes      bigint      NOT NULL DEFAULT 0
);

-- Schema version 4: the platforms with a registered track. Listings by streams, likes and age are
-- served by the population grains from memory, so apex_tracks keeps no index per listing order: a
-- catalogue's random counts and creation times made every bulk commit rewrite thousands of index pages.
-- Earlier schemas' platforms are read once, through the index that is dropped after.
CREATE TABLE IF NOT EXISTS apex_platforms
(
    platform text NOT NULL PRIMARY KEY
);

INSERT INTO apex_platforms (platform)
SELECT DISTINCT platform FROM apex_tracks WHERE to_regclass('ix_apex_tracks_streams') IS NOT NULL
ON CONFLICT (platform) DO NOTHING;

DROP INDEX IF EXISTS ix_apex_tracks_streams;
DROP INDEX IF EXISTS ix_apex_tracks_likes;
DROP INDEX IF EXISTS ix_apex_tracks_created;

-- Schema version 4: each track's curve (GET /tracks/{id}/timeline), streams and likes per bucket of
-- event time, hourly and daily (width in seconds, start in Unix seconds), summed in each commit.
CREATE TABLE IF NOT EXISTS apex_timeline
(
    track_id text   NOT NULL,
    width    int    NOT NULL,
    start    bigint NOT NULL,
    streams  bigint NOT NULL,
    likes    bigint NOT NULL,
    PRIMARY KEY (track_id, width, start)
);

-- Schema version 4: the signal feed (GET /stream), every breakout, scored track and promoted model once
-- (key), numbered in the order recorded (one writer); at in Unix milliseconds, data the JSON body.
CREATE TABLE IF NOT EXISTS apex_signals
(
    seq      bigserial NOT NULL PRIMARY KEY,
    type     text      NOT NULL,
    key      text      NOT NULL UNIQUE,
    platform text      NULL,
    track_id text      NULL,
    at       bigint    NOT NULL,
    data     text      NOT NULL
);

-- Schema version 5: the latest events of some types (the console's live signals) without a scan past every scored track.
CREATE INDEX IF NOT EXISTS ix_apex_signals_type ON apex_signals (type, seq);

-- Schema version 5: webhooks. A subscription receives the feed's events after from_seq (the last one
-- when it was made) of its types and platforms (comma-separated; platforms empty: all).
CREATE TABLE IF NOT EXISTS apex_webhook_subscriptions
(
    id          text   NOT NULL PRIMARY KEY,
    url         text   NOT NULL,
    types       text   NOT NULL,
    platforms   text   NOT NULL,
    description text   NOT NULL,
    secret      text   NOT NULL,
    -- After a rotation, the previous secret signs too (a second v1) until previous_until (Unix ms).
    previous_secret text   NULL,
    previous_until  bigint NULL,
    from_seq    bigint NOT NULL,
    created_at  bigint NOT NULL
);

-- The outbox: one row per subscription and event (id "{subscription}-{seq}", the delivery id a receiver
-- deduplicates on), written in the same transaction as the dispatcher's cursor; status pending,
-- delivered or failed (attempts exhausted); times in Unix milliseconds.
CREATE TABLE IF NOT EXISTS apex_webhook_deliveries
(
    id              text   NOT NULL PRIMARY KEY,
    subscription_id text   NOT NULL,
    seq             bigint NOT NULL,
    type            text   NOT NULL,
    body            text   NOT NULL,
    status          text   NOT NULL,
    attempts        int    NOT NULL,
    next_at         bigint NOT NULL,
    created_at      bigint NOT NULL,
    last_attempt_at bigint NULL,
    last_status     int    NULL,
    last_error      text   NULL,
    delivered_at    bigint NULL
);

CREATE INDEX IF NOT EXISTS ix_apex_webhook_deliveries_due ON apex_webhook_deliveries (status, next_at);
CREATE INDEX IF NOT EXISTS ix_apex_webhook_deliveries_subscription ON apex_webhook_deliveries (subscription_id, seq);

-- The last feed event the dispatcher turned into deliveries (one row, id 0).
CREATE TABLE IF NOT EXISTS apex_webhook_cursor
(
    id  int    NOT NULL PRIMARY KEY,
    seq bigint NOT NULL
);

-- One row per accepted event; the key is what deduplication looks up.
CREATE TABLE IF NOT EXISTS apex_events
(
    track_id  text        NOT NULL,
    event_id  text        NOT NULL,
    track_seq bigint      NOT NULL,
    kind      smallint    NOT NULL,
    count     bigint      NOT NULL,
    ts        timestamptz NOT NULL,
    PRIMARY KEY (track_id, event_id)
);

-- Schema version 3: tracks registered in bulk (POST /tracks/batch), their whole registration written in
-- the same transaction as their apex_tracks rows; backfill_seq orders their scoring.
CREATE TABLE IF NOT EXISTS apex_catalogue
(
    track_id      text        NOT NULL PRIMARY KEY,
    registration  text        NOT NULL,
    registered_at timestamptz NOT NULL,
    backfill_seq  bigserial   NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_apex_catalogue_backfill ON apex_catalogue (backfill_seq);

CREATE TABLE IF NOT EXISTS apex_keys
(
    id         text  NOT NULL PRIMARY KEY,
    hash       bytea NOT NULL UNIQUE,
    role       text  NOT NULL,
    name       text  NOT NULL,
    created_at text  NOT NULL,
    expires_at text  NULL,
    revoked_at text  NULL
);

-- Schema version 2: keys can expire and be revoked.
ALTER TABLE apex_keys ADD COLUMN IF NOT EXISTS expires_at text NULL;
ALTER TABLE apex_keys ADD COLUMN IF NOT EXISTS revoked_at text NULL;

-- Each track's segment embeddings, stored once: float32 little-endian, segments × layers × hidden.
CREATE TABLE IF NOT EXISTS apex_embeddings
(
    track_id         text             NOT NULL PRIMARY KEY,
    encoder          text             NOT NULL,
    segments         integer          NOT NULL,
    layers           integer          NOT NULL,
    hidden           integer          NOT NULL,
    duration_seconds double precision NOT NULL,
    silo             text             NOT NULL,
    data             bytea            NOT NULL
);

-- Each scored track's popularity predictions (0..100), reloaded by its platform's population grain.
CREATE TABLE IF NOT EXISTS apex_predictions
(
    track_id      text             NOT NULL PRIMARY KEY,
    platform      text             NOT NULL,
    created_at    text             NOT NULL,
    model_version text             NOT NULL,
    model_label   text             NULL,
    streams       double precision NOT NULL,
    likes         double precision NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_apex_predictions_platform ON apex_predictions (platform);

-- Arena battles, one row per battle id, numbered in arrival order; voters only as hashes.
CREATE TABLE IF NOT EXISTS apex_battles
(
    seq          bigserial NOT NULL PRIMARY KEY,
    battle_id    text      NOT NULL UNIQUE,
    model_a      text      NOT NULL,
    model_b      text      NOT NULL,
    winner       integer   NOT NULL,
    instrumental integer   NULL,
    track_a      text      NULL,
    track_b      text      NULL,
    voter_hash   text      NULL,
    day          text      NOT NULL,
    received_at  text      NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_apex_battles_voter ON apex_battles (voter_hash, day);

-- The schema version and the data set this database holds (`apex db check` and every silo read it;
-- `apex db init` / `apex db migrate` write it).
CREATE TABLE IF NOT EXISTS apex_meta
(
    key   text NOT NULL PRIMARY KEY,
    value text NOT NULL
);
