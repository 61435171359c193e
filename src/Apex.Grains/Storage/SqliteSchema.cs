using Microsoft.Data.Sqlite;

namespace Apex.Grains.Storage;

/// <summary>Applies a local store's schema scripts (Storage/Sql/sqlite-*.sql) and its meta table.</summary>
public static class SqliteSchema
{
    /// <summary>Creates what is missing; safe at every start. Creates the file when it does not exist.</summary>
    public static async Task ApplyAsync(string connectionString, LocalStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = string.Concat(store.Scripts.Select(SqlScripts.Read)) + "\n" + StoreMeta.CreateTable;
        await command.ExecuteNonQueryAsync(cancellationToken);
        foreach (var added in store.Added ?? [])
        {
            await using var exists = connection.CreateCommand();
            exists.CommandText = "SELECT count(*) FROM pragma_table_info($table) WHERE name = $column";
            exists.Parameters.AddWithValue("$table", added.Table);
            exists.Parameters.AddWithValue("$column", added.Column);
            if ((long)(await exists.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                await using var alter = connection.CreateCommand();
                alter.CommandText = $"ALTER TABLE {added.Table} ADD COLUMN {added.Column} {added.Definition}";
                await alter.ExecuteNonQueryAsync(cancellationToken);
            }
        }
    }
}
