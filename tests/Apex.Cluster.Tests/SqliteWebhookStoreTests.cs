using Apex.Grains.Signals;
using Apex.Grains.Storage;
using Apex.Grains.Webhooks;

namespace Apex.Cluster.Tests;

public sealed class SqliteWebhookStoreTests : WebhookStoreContract, IDisposable
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"apex-webhooks-{Guid.NewGuid():N}.db");

    protected override async Task<(SignalFeed Feed, WebhookStore Store)> OpenAsync()
    {
        await SqliteSchema.ApplyAsync(SqliteGrainStorage.ConnectionString(_database), LocalStores.Scores);
        return (SignalFeed.CreateSqlite(_database), WebhookStore.CreateSqlite(_database));
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
