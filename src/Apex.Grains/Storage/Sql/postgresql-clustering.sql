-- ApexCluster's schema for Orleans' ADO.NET clustering (membership) provider on PostgreSQL (invariant
-- Npgsql), written to the provider's contract: the stored query names below, the parameters it binds
-- (@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort,
-- @StartTime, @IAmAliveTime, @SuspectTimes, @Version; a new silo row has no suspicions yet) and the columns it reads back by name.
-- Needs the OrleansQuery table of postgresql-schema.sql. Idempotent.
--
-- The table version is the membership protocol's optimistic lock: a silo writes a row only together
-- with bumping the version it read. Each write below is one statement, so the bump and the row change
-- commit or fail together; a lost race changes nothing and answers 0.

CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL PRIMARY KEY,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL REFERENCES OrleansMembershipVersionTable (DeploymentId),
    Address      varchar(45)    NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer        NULL,
    SuspectTimes text           NULL,
    StartTime    timestamptz    NOT NULL,
    IAmAliveTime timestamptz    NOT NULL,
    PRIMARY KEY (DeploymentId, Address, Port, Generation)
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipVersionKey', '
WITH inserted AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES (@DeploymentId)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1)
SELECT count(*)::integer FROM inserted;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- The version is bumped only when the caller holds the current one and the silo row is not there yet;
-- a concurrent bump makes the second writer re-check Version under the row lock and find it stale.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipKey', '
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable v
    SET Version = v.Version + 1, Timestamp = now()
    WHERE v.DeploymentId = @DeploymentId AND v.Version = @Version::integer
      AND NOT EXISTS (SELECT 1 FROM OrleansMembershipTable m
                      WHERE m.DeploymentId = @DeploymentId AND m.Address = @Address::varchar
                        AND m.Port = @Port::integer AND m.Generation = @Generation::integer)
    RETURNING v.DeploymentId),
inserted AS (
    INSERT INTO OrleansMembershipTable (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, SuspectTimes, StartTime, IAmAliveTime)
    SELECT b.DeploymentId, @Address::varchar, @Port::integer, @Generation::integer, @SiloName, @HostName, @Status::integer, @ProxyPort::integer,
           NULL, @StartTime::timestamptz, @IAmAliveTime::timestamptz
    FROM bumped b
    RETURNING 1)
SELECT count(*)::integer FROM inserted;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateMembershipKey', '
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable v
    SET Version = v.Version + 1, Timestamp = now()
    WHERE v.DeploymentId = @DeploymentId AND v.Version = @Version::integer
      AND EXISTS (SELECT 1 FROM OrleansMembershipTable m
                  WHERE m.DeploymentId = @DeploymentId AND m.Address = @Address::varchar
                    AND m.Port = @Port::integer AND m.Generation = @Generation::integer)
    RETURNING v.DeploymentId),
updated AS (
    UPDATE OrleansMembershipTable m
    SET Status = @Status::integer, SuspectTimes = NULLIF(@SuspectTimes::text, ''''), IAmAliveTime = @IAmAliveTime::timestamptz
    FROM bumped b
    WHERE m.DeploymentId = b.DeploymentId AND m.Address = @Address::varchar
      AND m.Port = @Port::integer AND m.Generation = @Generation::integer
    RETURNING 1)
SELECT count(*)::integer FROM updated;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- A heartbeat: a liveness hint only, so it leaves the table version alone.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateIAmAlivetimeKey', '
UPDATE OrleansMembershipTable SET IAmAliveTime = @IAmAliveTime::timestamptz
WHERE DeploymentId = @DeploymentId AND Address = @Address::varchar
  AND Port = @Port::integer AND Generation = @Generation::integer;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Reads answer the version row even when no silo row matches (the provider reads the table version
-- from the first row and treats a NULL StartTime as "no entry").
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadRowKey', '
SELECT v.Version, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m
  ON m.DeploymentId = v.DeploymentId AND m.Address = @Address::varchar
 AND m.Port = @Port::integer AND m.Generation = @Generation::integer
WHERE v.DeploymentId = @DeploymentId;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadAllKey', '
SELECT v.Version, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteMembershipTableEntriesKey', '
DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('GatewaysQueryKey', '
SELECT Address, ProxyPort, Generation
FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND Status = @Status::integer AND ProxyPort > 0;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Dead silos (status 6) that nobody suspects and that were last alive before the cut-off.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntriesKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND Status = 6 AND SuspectTimes IS NULL
  AND IAmAliveTime < @IAmAliveTime::timestamptz AND StartTime < @IAmAliveTime::timestamptz;
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- One dead row, only if it still holds the values the provider read (a concurrent change keeps it).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntryKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId AND Status = 6
  AND Address = @Address::varchar AND Port = @Port::integer AND Generation = @Generation::integer
  AND IAmAliveTime = @IAmAliveTime::timestamptz AND StartTime = @StartTime::timestamptz
  AND SuspectTimes IS NOT DISTINCT FROM NULLIF(@SuspectTimes::text, '''');
') ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
