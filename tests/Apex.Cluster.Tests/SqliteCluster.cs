using Apex.Grains;
using Apex.Grains.Storage;
using Orleans.TestingHost;

namespace Apex.Cluster.Tests;

/// <summary>
/// A two-silo in-process cluster whose grain state lives in a SQLite file under the project's own
/// schema; a new cluster on the same file and service id sees what an earlier one stored.
/// </summary>
internal static class SqliteCluster
{
    public static async Task<InProcessTestCluster> StartAsync(string databasePath, string serviceId, short silos = 2)
    {
        var connectionString = SqliteGrainStorage.ConnectionString(databasePath);
        await SqliteGrainStorage.ApplySchemaAsync(connectionString);
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ServiceId = serviceId;
        builder.Options.ClusterId = "test-" + Guid.NewGuid().ToString("N");
        builder.ConfigureSilo((_, silo) => silo.AddApexSqliteGrainStorage(StorageNames.Tracks, connectionString));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
