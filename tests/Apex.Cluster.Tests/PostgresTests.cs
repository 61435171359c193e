using Apex.Grains;
using Apex.Grains.Ingest;
using Apex.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.TestingHost;

namespace Apex.Cluster.Tests;

/// <summary>The PostgreSQL schema under the real Orleans providers, on a throwaway server.</summary>
public sealed class PostgresTests(ThrowawayPostgres postgres) : IClassFixture<ThrowawayPostgres>, IAsyncLifetime
{
    private readonly string _ingest = Path.Combine(Path.GetTempPath(), $"apex-pg-ingest-{Guid.NewGuid():N}.db");
    private readonly string _serviceId = "apex-pg-" + Guid.NewGuid().ToString("N")[..8];
    private SqliteIngestLog _log = null!;

    private static readonly TrackRegistration Song = new("suno", new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), "media/a.mp3", true);

    public async Task InitializeAsync()
    {
        await PostgresGrainStorage.ApplySchemaAsync(postgres.ConnectionString);
        await PostgresGrainStorage.ApplySchemaAsync(postgres.ConnectionString); // idempotent
        _log = await SqliteIngestLog.OpenAsync(_ingest);
    }

    public async Task DisposeAsync()
    {
        await _log.DisposeAsync();
        SqliteCluster.DeleteFiles(_ingest);
    }

    private async Task<InProcessTestCluster> StartAsync(short silos = 2)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ServiceId = _serviceId;
        builder.Options.ClusterId = "pg-" + Guid.NewGuid().ToString("N");
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddApexGrainStorage(StorageNames.Tracks, AdoNetDatabase.Postgres(postgres.ConnectionString))
                .UseApexReminders(AdoNetDatabase.Postgres(postgres.ConnectionString))
                .Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
            silo.Services.AddSingleton<IIngestLog>(_log);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    [Fact]
    public async Task Grain_state_and_reminders_survive_a_cluster_and_database_restart()
    {
        TrackView stored;
        await using (var cluster = await StartAsync())
        {
            stored = (await cluster.Client.GetGrain<ITrackGrain>("pg-1").RegisterAsync(Song)).Track;
            Assert.False((await cluster.Client.GetGrain<ITrackGrain>("pg-1").RegisterAsync(Song)).Created);
            await Assert.ThrowsAsync<TrackConflictException>(() => cluster.Client.GetGrain<ITrackGrain>("pg-1").RegisterAsync(Song with { Platform = "udio" }));
            await cluster.Client.GetGrain<IAlarmGrain>("pg-alarm").SetAsync(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5));
        }

        await postgres.RestartAsync();

        await using var restarted = await StartAsync(silos: 1);
        Assert.Equal(stored, await restarted.Client.GetGrain<ITrackGrain>("pg-1").GetAsync());
        var alarm = restarted.Client.GetGrain<IAlarmGrain>("pg-alarm");
        Assert.True(await alarm.IsSetAsync());
        await alarm.ClearAsync();
        Assert.False(await alarm.IsSetAsync());
    }

    [Fact]
    public async Task Stored_write_query_follows_optimistic_concurrency()
    {
        async Task<List<int?>> WriteAsync(int? version)
        {
            await using var connection = new NpgsqlConnection(postgres.ConnectionString);
            await connection.OpenAsync();
            await using var lookup = new NpgsqlCommand("SELECT QueryText FROM OrleansQuery WHERE QueryKey = 'WriteToStorageKey'", connection);
            await using var command = new NpgsqlCommand((string)(await lookup.ExecuteScalarAsync())!, connection);
            command.Parameters.AddWithValue("GrainIdHash", 5);
            command.Parameters.AddWithValue("GrainIdN0", 1L);
            command.Parameters.AddWithValue("GrainIdN1", 2L);
            command.Parameters.AddWithValue("GrainTypeHash", 9);
            command.Parameters.AddWithValue("GrainTypeString", "test");
            command.Parameters.AddWithValue("GrainIdExtensionString", DBNull.Value);
            command.Parameters.AddWithValue("ServiceId", _serviceId);
            command.Parameters.AddWithValue("PayloadBinary", new byte[] { 1 });
            command.Parameters.Add(new NpgsqlParameter("GrainStateVersion", NpgsqlTypes.NpgsqlDbType.Integer) { Value = version is null ? DBNull.Value : version });
            var results = new List<int?>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                results.Add(reader.IsDBNull(0) ? null : reader.GetInt32(0));
            }

            return results;
        }

        Assert.Equal([1], await WriteAsync(null));
        Assert.Empty(await WriteAsync(null));      // a second first write: conflict
        Assert.Equal([2], await WriteAsync(1));
        Assert.Equal([1], await WriteAsync(1));    // stale: answers its own version
    }
}
