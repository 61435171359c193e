using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Apex.Grains.Storage;

/// <summary>What kind of disagreement a finding is: repair and migrate act on the kind, not on the text.</summary>
public enum StoreProblem
{
    /// <summary>A schema newer than this build knows: nothing here may touch it.</summary>
    NewerSchema,

    /// <summary>A schema older than this build's, or none recorded: a migration brings it up.</summary>
    OlderSchema,

    /// <summary>Stores of different data sets side by side: only a restore of one set mends it.</summary>
    OtherDataSet,

    /// <summary>A store missing or made again empty: repair makes and stamps it; its contents are lost.</summary>
    LostStore,

    /// <summary>Registered tracks unknown to the ingest log: repair registers them again.</summary>
    TracksMissingFromLog,
}

/// <summary>Something that keeps a deployment's stores from agreeing, and the way out.</summary>
public sealed record StoreFinding(StoreProblem Kind, string Store, string Problem, string WayOut)
{
    /// <summary>Whether <c>apex db repair</c> can mend it (the other kinds need another build or a restore).</summary>
    public bool Repairable => Kind is not (StoreProblem.NewerSchema or StoreProblem.OtherDataSet);
}

/// <summary>What <see cref="StoreAgreement"/> found: the data set, the findings, and the registered tracks the ingest log lacks.</summary>
public sealed record StoreReport(string? DataSet, IReadOnlyList<StoreFinding> Findings, long RegisteredTracks, IReadOnlyList<string> TracksMissingFromLog, long MissingCount)
{
    public bool Agree => Findings.Count == 0;
}

/// <summary>What <see cref="StoreAgreement"/>'s repair did, and what could not be rebuilt.</summary>
public sealed record RepairReport(string DataSet, int StoresStamped, int TracksReRegistered, IReadOnlyList<string> Lost);

/// <summary>
/// Checks that a deployment's stores agree before a host serves from them: every database at a schema
/// version this build knows, every local store of one data set (a store deleted and made again empty
/// has none), and every registered track (grain storage) known to the ingest log, which must never
/// silently start empty. The host refuses to start when they do not (exit 3); <c>apex db check</c>
/// reports the same, and <c>apex db repair</c> rebuilds what can be rebuilt.
/// </summary>
public static class StoreAgreement
{
    private const int Examples = 5;

    private const string RepairHint = "restore it from a backup of the same data set, or run `apex db repair` (which rebuilds what it can and lists what was lost)";

    /// <summary>Checks a local data folder without creating or changing anything in it.</summary>
    public static async Task<StoreReport> CheckLocalAsync(string dataDir, CancellationToken cancellationToken = default)
    {
        var findings = new List<StoreFinding>();
        var sets = new Dictionary<LocalStore, string?>();
        foreach (var store in LocalStores.All)
        {
            var path = store.PathIn(dataDir);
            if (!File.Exists(path))
            {
                sets[store] = null;
                continue;
            }

            await using var connection = await OpenReadOnlyAsync(path, cancellationToken);
            var meta = await StoreMeta.ReadAsync(connection, cancellationToken);
            sets[store] = meta.GetValueOrDefault(StoreMeta.DataSetKey);
            if (StoreMeta.Version(meta) is > StoreMeta.SchemaVersion and var newer)
            {
                findings.Add(new(StoreProblem.NewerSchema, store.File, $"its schema version {newer} is newer than this build knows ({StoreMeta.SchemaVersion})", "run a build of ApexCluster that knows it"));
            }
        }

        var dataSets = sets.Values.OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (dataSets.Count > 1)
        {
            foreach (var group in sets.Where(s => s.Value is not null).GroupBy(s => s.Value, StringComparer.Ordinal))
            {
                findings.Add(new(StoreProblem.OtherDataSet, string.Join(", ", group.Select(g => g.Key.File)), $"belongs to data set {group.Key}, while other stores of {dataDir} belong to another", "put back the stores of one data set (from one backup)"));
            }
        }
        else if (dataSets.Count == 1)
        {
            foreach (var (store, set) in sets.Where(s => s.Value is null))
            {
                var state = File.Exists(store.PathIn(dataDir)) ? "was made again (it has no data set)" : "is missing";
                findings.Add(new(StoreProblem.LostStore, store.File, $"{state} while the other stores of {dataDir} belong to data set {dataSets[0]}: it held {store.Holds}, which is gone", RepairHint));
            }
        }

        var (registered, missing, missingCount) = (0L, (IReadOnlyList<string>)[], 0L);
        if (File.Exists(LocalStores.Grains.PathIn(dataDir)) && File.Exists(LocalStores.Ingest.PathIn(dataDir)))
        {
            await using var connection = await OpenReadOnlyAsync(LocalStores.Grains.PathIn(dataDir), cancellationToken);
            await using (var attach = connection.CreateCommand())
            {
                attach.CommandText = "ATTACH DATABASE $path AS log";
                // Attached with the main connection's flags: read-only.
                attach.Parameters.AddWithValue("$path", LocalStores.Ingest.PathIn(dataDir));
                await attach.ExecuteNonQueryAsync(cancellationToken);
            }

            (registered, missing, missingCount) = await TracksMissingFromLogAsync(connection, SqliteTracks, cancellationToken);
        }

        AddMissingTracks(findings, LocalStores.Ingest.File, missing, missingCount);
        return new StoreReport(dataSets.Count == 1 ? dataSets[0] : null, findings, registered, missing, missingCount);
    }

    /// <summary>
    /// After the host opened (and so created) its stores: writes the schema version, and the data set
    /// (the one the other stores carry, or a new one for a new data folder) into every store lacking them.
    /// Only after <see cref="CheckLocalAsync"/> agreed, or by a repair.
    /// </summary>
    public static async Task<(string DataSet, int Stamped)> StampLocalAsync(string dataDir, CancellationToken cancellationToken = default)
    {
        string? dataSet = null;
        foreach (var store in LocalStores.All.Where(s => File.Exists(s.PathIn(dataDir))))
        {
            await using var connection = new SqliteConnection(SqliteGrainStorage.ConnectionString(store.PathIn(dataDir)));
            await connection.OpenAsync(cancellationToken);
            dataSet ??= (await StoreMeta.ReadAsync(connection, cancellationToken)).GetValueOrDefault(StoreMeta.DataSetKey);
        }

        dataSet ??= Guid.NewGuid().ToString("N");
        var stamped = 0;
        foreach (var store in LocalStores.All)
        {
            var connectionString = SqliteGrainStorage.ConnectionString(store.PathIn(dataDir));
            await SqliteSchema.ApplyAsync(connectionString, store, cancellationToken);
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            var meta = await StoreMeta.ReadAsync(connection, cancellationToken);
            if (meta.GetValueOrDefault(StoreMeta.DataSetKey) != dataSet || StoreMeta.Version(meta) != StoreMeta.SchemaVersion)
            {
                await StoreMeta.WriteAsync(connection, StoreMeta.DataSetKey, dataSet, cancellationToken);
                await StoreMeta.WriteAsync(connection, StoreMeta.VersionKey, StoreMeta.SchemaVersion.ToString(CultureInfo.InvariantCulture), cancellationToken);
                stamped++;
            }
        }

        return (dataSet, stamped);
    }

    /// <summary>Checks the cluster profile's database (every store is one PostgreSQL database).</summary>
    public static async Task<StoreReport> CheckPostgresAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var findings = new List<StoreFinding>();
        var meta = await StoreMeta.ReadAsync(connection, cancellationToken);
        switch (StoreMeta.Version(meta))
        {
            case null:
                // Not prepared (or by a build before versions): nothing further can be read.
                findings.Add(new(StoreProblem.OlderSchema, "PostgreSQL", "the database has no ApexCluster schema version (not prepared, or prepared by an older build)", "run `apex db init --connection …` (the same as `apex db migrate`)"));
                return new StoreReport(null, findings, 0, [], 0);
            case > StoreMeta.SchemaVersion and var newer:
                findings.Add(new(StoreProblem.NewerSchema, "PostgreSQL", $"its schema version {newer} is newer than this build knows ({StoreMeta.SchemaVersion})", "run a build of ApexCluster that knows it"));
                break;
            case < StoreMeta.SchemaVersion and var older:
                findings.Add(new(StoreProblem.OlderSchema, "PostgreSQL", $"its schema version {older} is older than this build's ({StoreMeta.SchemaVersion})", "run `apex db migrate --connection …`"));
                break;
        }

        var (registered, missing, missingCount) = await TracksMissingFromLogAsync(connection, PostgresTracks, cancellationToken);
        AddMissingTracks(findings, "PostgreSQL apex_tracks", missing, missingCount);
        return new StoreReport(meta.GetValueOrDefault(StoreMeta.DataSetKey), findings, registered, missing, missingCount);
    }

    /// <summary>Applies the schema (idempotent) and writes this build's version and the data set; what <c>apex db init</c> and <c>apex db migrate</c> do.</summary>
    public static Task<string> MigratePostgresAsync(string connectionString, CancellationToken cancellationToken = default) =>
        PostgresSchema.ApplyAsync(connectionString, cancellationToken);

    /// <summary>
    /// Rebuilds a local data folder's agreement: every store made and stamped with the data set, and each
    /// registered track the ingest log lacks registered in it again from its grain state (platform and
    /// creation time; its events before the loss are gone). Stores of another data set are not touched.
    /// </summary>
    public static async Task<RepairReport> RepairLocalAsync(string dataDir, CancellationToken cancellationToken = default)
    {
        var before = await CheckLocalAsync(dataDir, cancellationToken);
        if (before.Findings.FirstOrDefault(f => !f.Repairable) is { } unrepairable)
        {
            throw new InvalidOperationException($"{unrepairable.Store}: {unrepairable.Problem}; repair cannot fix this: {unrepairable.WayOut}.");
        }

        var lost = before.Findings.Where(f => f.Kind != StoreProblem.TracksMissingFromLog)
            .Select(f => $"{f.Store}: {f.Problem}").ToList();
        var (dataSet, stamped) = await StampLocalAsync(dataDir, cancellationToken);
        var registered = 0;
        await using (var log = await Ingest.SqliteIngestLog.OpenAsync(LocalStores.Ingest.PathIn(dataDir), cancellationToken))
        {
            await using var connection = new SqliteConnection(SqliteGrainStorage.ConnectionString(LocalStores.Grains.PathIn(dataDir)));
            await connection.OpenAsync(cancellationToken);
            await using (var attach = connection.CreateCommand())
            {
                attach.CommandText = "ATTACH DATABASE $path AS log";
                attach.Parameters.AddWithValue("$path", LocalStores.Ingest.PathIn(dataDir));
                await attach.ExecuteNonQueryAsync(cancellationToken);
            }

            registered = await ReRegisterAsync(connection, SqliteTracks, log, cancellationToken);
        }

        if (registered > 0)
        {
            lost.Add($"{LocalStores.Ingest.File}: the events of {registered} re-registered track(s) from before the loss (their counts start again at 0; clients may re-send them)");
        }

        return new RepairReport(dataSet, stamped, registered, lost);
    }

    /// <summary>The cluster profile's repair: the schema migrated and stamped, lost track registrations put back into the ingest log.</summary>
    public static async Task<RepairReport> RepairPostgresAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var dataSet = await MigratePostgresAsync(connectionString, cancellationToken);
        await using var log = await Ingest.PostgresIngestLog.OpenAsync(connectionString, cancellationToken);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var registered = await ReRegisterAsync(connection, PostgresTracks, log, cancellationToken);
        return new RepairReport(dataSet, 1, registered, registered > 0
            ? [$"apex_tracks: the events of {registered} re-registered track(s) from before the loss (their counts start again at 0)"]
            : []);
    }

    private sealed record TrackQueries(string Count, string Missing, string MissingCount);

    // Track grains' state rows (registered tracks: the state is written only by a registration) that
    // the ingest log does not know. The grain key is the track id.
    private static readonly TrackQueries SqliteTracks = new(
        "SELECT count(*) FROM OrleansStorage WHERE GrainTypeString = 'track' AND PayloadBinary IS NOT NULL",
        "SELECT s.GrainIdExtensionString, CAST(s.PayloadBinary AS TEXT) FROM OrleansStorage s WHERE s.GrainTypeString = 'track' AND s.PayloadBinary IS NOT NULL AND NOT EXISTS (SELECT 1 FROM log.apex_tracks t WHERE t.track_id = s.GrainIdExtensionString) ORDER BY 1",
        "SELECT count(*) FROM OrleansStorage s WHERE s.GrainTypeString = 'track' AND s.PayloadBinary IS NOT NULL AND NOT EXISTS (SELECT 1 FROM log.apex_tracks t WHERE t.track_id = s.GrainIdExtensionString)");

    private static readonly TrackQueries PostgresTracks = new(
        "SELECT count(*) FROM orleansstorage WHERE graintypestring = 'track' AND payloadbinary IS NOT NULL",
        "SELECT s.grainidextensionstring, convert_from(s.payloadbinary, 'UTF8') FROM orleansstorage s WHERE s.graintypestring = 'track' AND s.payloadbinary IS NOT NULL AND NOT EXISTS (SELECT 1 FROM apex_tracks t WHERE t.track_id = s.grainidextensionstring) ORDER BY 1",
        "SELECT count(*) FROM orleansstorage s WHERE s.graintypestring = 'track' AND s.payloadbinary IS NOT NULL AND NOT EXISTS (SELECT 1 FROM apex_tracks t WHERE t.track_id = s.grainidextensionstring)");

    private static async Task<(long Registered, IReadOnlyList<string> Missing, long MissingCount)> TracksMissingFromLogAsync(DbConnection connection, TrackQueries queries, CancellationToken cancellationToken)
    {
        var registered = Convert.ToInt64(await ScalarAsync(connection, queries.Count, cancellationToken), CultureInfo.InvariantCulture);
        var missingCount = Convert.ToInt64(await ScalarAsync(connection, queries.MissingCount, cancellationToken), CultureInfo.InvariantCulture);
        var examples = new List<string>();
        if (missingCount > 0)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = queries.Missing + " LIMIT " + Examples.ToString(CultureInfo.InvariantCulture);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                examples.Add(reader.GetString(0));
            }
        }

        return (registered, examples, missingCount);
    }

    private static async Task<int> ReRegisterAsync(DbConnection connection, TrackQueries queries, Ingest.IIngestLog log, CancellationToken cancellationToken)
    {
        var tracks = new List<(string Id, string Platform, DateTimeOffset CreatedAt)>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = queries.Missing;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                using var state = JsonDocument.Parse(reader.GetString(1));
                var registration = state.RootElement.GetProperty("Registration");
                tracks.Add((reader.GetString(0), registration.GetProperty("Platform").GetString()!, registration.GetProperty("CreatedAt").GetDateTimeOffset()));
            }
        }

        foreach (var (id, platform, createdAt) in tracks)
        {
            await log.RegisterTrackAsync(id, platform, createdAt, cancellationToken);
        }

        return tracks.Count;
    }

    private static void AddMissingTracks(List<StoreFinding> findings, string store, IReadOnlyList<string> missing, long count)
    {
        if (count > 0)
        {
            findings.Add(new(StoreProblem.TracksMissingFromLog, store, $"{count} registered track(s) are unknown to the ingest log (e.g. {string.Join(", ", missing)}): their events would be refused for good", RepairHint));
        }
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    private static async Task<SqliteConnection> OpenReadOnlyAsync(string path, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync(cancellationToken);
        return connection;
    }
}
