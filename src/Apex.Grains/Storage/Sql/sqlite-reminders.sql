-- ApexCluster's schema for Orleans' ADO.NET reminder table on SQLite (Orleans ships none for SQLite).
-- Written to the provider's contract: named queries in OrleansQuery (created by the grain-storage
-- script) that take @ServiceId, @GrainId, @GrainHash, @ReminderName, @StartTime, @Period, @Version,
-- @BeginHash and @EndHash, and answer rows of GrainId, ReminderName, StartTime, Period and Version
-- (plus the scheduling columns of newer providers, NULL here). Idempotent.

CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId      TEXT    NOT NULL,
    GrainId        TEXT    NOT NULL,
    ReminderName   TEXT    NOT NULL,
    StartTime      TEXT    NOT NULL,
    Period         INTEGER NOT NULL,  -- milliseconds
    CronExpression TEXT    NULL,
    NextDueUtc     TEXT    NULL,
    LastFireUtc    TEXT    NULL,
    Priority       INTEGER NOT NULL DEFAULT 0,
    Action         INTEGER NOT NULL DEFAULT 0,
    GrainHash      INTEGER NOT NULL,  -- the grain's uniform hash, for range scans by ring owner
    Version        INTEGER NOT NULL,
    PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

CREATE INDEX IF NOT EXISTS IX_OrleansReminders_Hash ON OrleansRemindersTable (ServiceId, GrainHash);

-- Insert at version 0, or replace the schedule and move the version on; answers the new version.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpsertReminderRowKey', '
INSERT INTO OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE SET
    StartTime = excluded.StartTime, Period = excluded.Period, GrainHash = excluded.GrainHash,
    Version = OrleansRemindersTable.Version + 1
RETURNING Version;
');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowsKey', '
SELECT GrainId, ReminderName, StartTime, Period, CronExpression, NextDueUtc, LastFireUtc, Priority, Action, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId;
');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowKey', '
SELECT GrainId, ReminderName, StartTime, Period, CronExpression, NextDueUtc, LastFireUtc, Priority, Action, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName;
');

-- A ring range that does not wrap: (begin, end].
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows1Key', '
SELECT GrainId, ReminderName, StartTime, Period, CronExpression, NextDueUtc, LastFireUtc, Priority, Action, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainHash > @BeginHash AND GrainHash <= @EndHash;
');

-- A ring range that wraps around: (begin, max] and [min, end].
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows2Key', '
SELECT GrainId, ReminderName, StartTime, Period, CronExpression, NextDueUtc, LastFireUtc, Priority, Action, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);
');

-- Deletes only the version the caller holds; answers whether a row went.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowKey', '
DELETE FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName AND Version = @Version;
SELECT changes();
');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowsKey', '
DELETE FROM OrleansRemindersTable WHERE ServiceId = @ServiceId;
');
