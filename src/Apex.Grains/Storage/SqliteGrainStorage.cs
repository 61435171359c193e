using Microsoft.Data.Sqlite;

namespace Apex.Grains.Storage;

/// <summary>
/// Orleans' ADO.NET grain storage and reminder table on SQLite, with the project's own schemas (Orleans
/// ships no SQLite scripts in its packages): <c>Storage/Sql/sqlite-grain-storage.sql</c> and
/// <c>sqlite-reminders.sql</c>.
/// </summary>
public static class SqliteGrainStorage
{
    /// <summary>The invariant under which Orleans' ADO.NET providers load Microsoft.Data.Sqlite.</summary>
    public const string Invariant = "System.Data.SQLite";

    public static string ConnectionString(string databasePath) =>
        new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true, DefaultTimeout = 30 }.ToString();

    /// <summary>Creates the tables and stored queries if missing (idempotent) and turns on WAL journaling.</summary>
    public static async Task ApplySchemaAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        // WAL lets readers and the single writer work at once; the scripts set it (a property of the file).
        await SqliteSchema.ApplyAsync(connectionString, LocalStores.Grains, cancellationToken);
    }
}
