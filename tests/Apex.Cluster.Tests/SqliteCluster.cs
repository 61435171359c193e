using Apex.Grains;
using Apex.Grains.Ingest;
using Apex.Grains.Populations;
using Apex.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Apex.Cluster.Tests;

/// <summary>
/// A two-silo in-process cluster whose grain state and ingest log live in SQLite files under the
/// project's own schemas; a new cluster on the same files and service id sees what an earlier one stored.
/// </summary>
internal sealed class SqliteCluster : IAsyncDisposable
{
    private SqliteCluster(InProcessTestCluster cluster, SqliteIngestLog log)
    {
        Cluster = cluster;
        Log = log;
        Handoff = new PopulationHandoff(cluster.Client);
        Ingestor = new EventIngestor(log, Handoff);
    }

    public InProcessTestCluster Cluster { get; }

    public SqliteIngestLog Log { get; }

    public PopulationHandoff Handoff { get; }

    public EventIngestor Ingestor { get; }

    public IClusterClient Client => Cluster.Client;

    public static async Task<SqliteCluster> StartAsync(string databasePath, string serviceId, short silos = 2)
    {
        var connectionString = SqliteGrainStorage.ConnectionString(databasePath);
        await SqliteGrainStorage.ApplySchemaAsync(connectionString);
        var log = await SqliteIngestLog.OpenAsync(databasePath + ".ingest");
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ServiceId = serviceId;
        builder.Options.ClusterId = "test-" + Guid.NewGuid().ToString("N");
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddApexGrainStorage(StorageNames.Tracks, AdoNetDatabase.Sqlite(connectionString));
            silo.Services.AddSingleton<IIngestLog>(log);
            silo.Services.AddHostedService<PopulationReconciler>();
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new SqliteCluster(cluster, log);
    }

    /// <summary>The silo that hosts a grain's activation (activating it if needed).</summary>
    public async Task<InProcessSiloHandle> HostOfAsync(IPopulationGrain grain)
    {
        await grain.RankAsync(1, 0);
        var address = await Client.GetGrain<IManagementGrain>(0).GetActivationAddress(grain);
        return Cluster.Silos.Single(s => s.SiloAddress.Equals(address));
    }

    public static void DeleteFiles(string databasePath)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in new[] { databasePath, databasePath + ".ingest" }.SelectMany(f => new[] { f, f + "-wal", f + "-shm" }))
        {
            File.Delete(file);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Handoff.DisposeAsync();
        await Cluster.DisposeAsync();
        await Log.DisposeAsync();
    }
}
