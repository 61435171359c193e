using System.Data.Common;

namespace Apex.Grains.Storage;

/// <summary>
/// What each database says about itself (table <c>apex_meta</c>): the schema version it was made or
/// migrated to, and the data set it belongs to (one id shared by every store of a deployment, so a
/// store that was deleted and made again empty is told from one that was always there).
/// </summary>
public static class StoreMeta
{
    /// <summary>
    /// The schema version this build writes and reads; a database of a newer one is refused.
    /// 1: the first stamped schema. 2: API keys can expire and be revoked (apex_keys.expires_at, revoked_at).
    /// 3: the catalogue of tracks registered in bulk (apex_catalogue). 4: apex_platforms; apex_tracks loses
    /// its listing indexes (the population grains serve listings); apex_timeline, each track's curve;
    /// apex_signals, the signal feed. 5: webhook subscriptions, their outbox and the dispatcher's cursor.
    /// </summary>
    public const int SchemaVersion = 5;

    public const string VersionKey = "schema_version";
    public const string DataSetKey = "data_set";

    public const string CreateTable = "CREATE TABLE IF NOT EXISTS apex_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL);";

    /// <summary>The meta rows; empty when the table does not exist.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> ReadAsync(DbConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT key, value FROM apex_meta";
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                meta[reader.GetString(0)] = reader.GetString(1);
            }
        }
        catch (DbException ex) when (IsMissingTable(ex))
        {
            return meta;
        }

        return meta;
    }

    public static async Task WriteAsync(DbConnection connection, string key, string value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO apex_meta (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        Add(command, "key", key);
        Add(command, "value", value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static int? Version(IReadOnlyDictionary<string, string> meta) =>
        meta.TryGetValue(VersionKey, out var v) && int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var version) ? version : null;

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    // SQLite: "no such table"; PostgreSQL: 42P01 undefined_table.
    private static bool IsMissingTable(DbException ex) =>
        ex.Message.Contains("no such table", StringComparison.OrdinalIgnoreCase) || ex.SqlState == "42P01";
}
