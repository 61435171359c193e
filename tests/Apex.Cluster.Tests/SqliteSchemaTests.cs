using Apex.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace Apex.Cluster.Tests;

/// <summary>The stored queries of the SQLite schema, called as Orleans' ADO.NET provider calls them.</summary>
public sealed class SqliteSchemaTests : IDisposable
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"apex-schema-{Guid.NewGuid():N}.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
        {
            File.Delete(file);
        }
    }

    private async Task<List<long?>> RunAsync(string queryKey, long? version, byte[]? payload = null)
    {
        await using var connection = new SqliteConnection(SqliteGrainStorage.ConnectionString(_database));
        await connection.OpenAsync();
        await using var lookup = connection.CreateCommand();
        lookup.CommandText = "SELECT QueryText FROM OrleansQuery WHERE QueryKey = $key";
        lookup.Parameters.AddWithValue("$key", queryKey);
        await using var command = connection.CreateCommand();
        command.CommandText = (string)(await lookup.ExecuteScalarAsync())!;
        foreach (var (name, value) in new (string, object?)[]
        {
            ("@GrainIdHash", 17), ("@GrainIdN0", 1L), ("@GrainIdN1", 2L), ("@GrainTypeHash", 23), ("@GrainTypeString", "track"),
            ("@GrainIdExtensionString", null), ("@ServiceId", "svc"), ("@PayloadBinary", payload), ("@GrainStateVersion", version),
        })
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        var results = new List<long?>();
        await using var reader = await command.ExecuteReaderAsync();
        do
        {
            while (await reader.ReadAsync())
            {
                var column = reader.GetOrdinal(queryKey == "ReadFromStorageKey" ? "Version" : "NewGrainStateVersion");
                results.Add(reader.IsDBNull(column) ? null : reader.GetInt64(column));
            }
        }
        while (await reader.NextResultAsync());

        return results;
    }

    [Fact]
    public async Task Writes_follow_optimistic_concurrency_and_the_schema_applies_twice()
    {
        var connection = SqliteGrainStorage.ConnectionString(_database);
        await SqliteGrainStorage.ApplySchemaAsync(connection);
        await SqliteGrainStorage.ApplySchemaAsync(connection); // idempotent

        Assert.Equal([1L], await RunAsync("WriteToStorageKey", null, [1]));          // first write
        Assert.Empty(await RunAsync("WriteToStorageKey", null, [9]));                  // a second "first" write: conflict (provider sees null == null)
        Assert.Equal([2L], await RunAsync("WriteToStorageKey", 1, [2]));              // holder of version 1 updates
        Assert.Equal([1L], await RunAsync("WriteToStorageKey", 1, [3]));              // stale version 1: answers 1 = conflict
        Assert.Equal([2L], await RunAsync("ReadFromStorageKey", null));
        Assert.Equal([3L], await RunAsync("ClearStorageKey", 2));                     // clear moves the version on
        Assert.Equal([2L], await RunAsync("ClearStorageKey", 2));                     // stale clear: conflict
        Assert.Equal([3L], await RunAsync("ReadFromStorageKey", null));
    }
}
