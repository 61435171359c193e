using Apex.Grains.Signals;
using Apex.Grains.Storage;

namespace Apex.Cluster.Tests;

public sealed class SqliteSignalFeedTests : SignalFeedContract, IDisposable
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"apex-signals-{Guid.NewGuid():N}.db");

    protected override async Task<SignalFeed> OpenAsync()
    {
        await SqliteSchema.ApplyAsync(SqliteGrainStorage.ConnectionString(_database), LocalStores.Scores);
        return SignalFeed.CreateSqlite(_database);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
        {
            File.Delete(file);
        }
    }
}
