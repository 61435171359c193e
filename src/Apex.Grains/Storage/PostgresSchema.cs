using Npgsql;

namespace Apex.Grains.Storage;

/// <summary>
/// The cluster profile's PostgreSQL schema (invariant Npgsql): Orleans' grain storage, reminders and
/// clustering tables with their stored queries (the project's own scripts: Orleans ships none in its
/// packages), and ApexCluster's ingest log and API keys. <c>apex db init</c> applies it.
/// </summary>
public static class PostgresSchema
{
    public const string Invariant = "Npgsql";

    private static readonly string[] Scripts = ["postgresql-schema.sql", "postgresql-clustering.sql", "postgresql-apex.sql"];

    /// <summary>
    /// Creates the tables and stored queries if missing and writes this build's schema version and the
    /// data set (kept when present), in one transaction; safe to run again. A database of a newer schema
    /// is left as it is. Answers the data set.
    /// </summary>
    public static async Task<string> ApplyAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Silos of a new cluster may all run the schema at once: one at a time, so that the
        // CREATE ... IF NOT EXISTS statements do not race each other on the catalog.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(7261009)", connection, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var script in Scripts)
        {
            await using var command = new NpgsqlCommand(SqlScripts.Read(script), connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var meta = await StoreMeta.ReadAsync(connection, cancellationToken);
        if (StoreMeta.Version(meta) is > StoreMeta.SchemaVersion and var newer)
        {
            throw new InvalidOperationException($"The database's schema version {newer} is newer than this build knows ({StoreMeta.SchemaVersion}); it was left as it is.");
        }

        var dataSet = meta.GetValueOrDefault(StoreMeta.DataSetKey) ?? Guid.NewGuid().ToString("N");
        await StoreMeta.WriteAsync(connection, StoreMeta.DataSetKey, dataSet, cancellationToken);
        await StoreMeta.WriteAsync(connection, StoreMeta.VersionKey, StoreMeta.SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return dataSet;
    }
}
