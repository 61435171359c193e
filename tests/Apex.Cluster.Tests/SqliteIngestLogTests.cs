using Apex.Grains.Ingest;
using Microsoft.Data.Sqlite;

namespace Apex.Cluster.Tests;

public sealed class SqliteIngestLogTests : IngestLogContract
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"apex-ingest-{Guid.NewGuid():N}.db");

    protected override async Task<IIngestLog> ReopenAsync() => await SqliteIngestLog.OpenAsync(_database);

    protected override Task DeleteDatabaseAsync()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
        {
            File.Delete(file);
        }

        return Task.CompletedTask;
    }
}
