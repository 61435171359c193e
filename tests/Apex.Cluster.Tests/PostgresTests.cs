using Apex.Grains;
using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Grains.Populations;
using Apex.Grains.Storage;
using Apex.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.TestingHost;

namespace Apex.Cluster.Tests;

/// <summary>The PostgreSQL schema under the real Orleans providers, on a throwaway server.</summary>
public sealed class PostgresTests(ThrowawayPostgres postgres) : IClassFixture<ThrowawayPostgres>, IAsyncLifetime
{
    private readonly string _serviceId = "apex-pg-" + Guid.NewGuid().ToString("N")[..8];
    private PostgresIngestLog _log = null!;

    private static EngagementEvent Event(string id, EventKind kind, long count) => new(id, "pg-1", kind, count, DateTimeOffset.UnixEpoch);

    private static readonly TrackRegistration Song = new("suno", new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), "media/a.mp3", true);

    public async Task InitializeAsync()
    {
        await PostgresSchema.ApplyAsync(postgres.ConnectionString);
        await PostgresSchema.ApplyAsync(postgres.ConnectionString); // idempotent
        _log = await PostgresIngestLog.OpenAsync(postgres.ConnectionString);
    }

    public async Task DisposeAsync() => await _log.DisposeAsync();

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
            await using var handoff = new PopulationHandoff(cluster.Client);
            var ingestor = new EventIngestor(_log, handoff);
            var sent = await ingestor.IngestAsync([Event("p1", EventKind.Stream, 3), Event("p2", EventKind.Like, 1), Event("p1", EventKind.Stream, 3)]);
            Assert.Equal([IngestOutcome.Accepted, IngestOutcome.Accepted, IngestOutcome.Duplicate], sent.Outcomes);
        }

        await postgres.RestartAsync();

        await _log.DisposeAsync();
        _log = await PostgresIngestLog.OpenAsync(postgres.ConnectionString);
        await using var restarted = await StartAsync(silos: 1);
        Assert.Equal(stored with { Streams = 3, Likes = 1 }, await restarted.Client.GetGrain<ITrackGrain>("pg-1").GetAsync());
        await using var handoff2 = new PopulationHandoff(restarted.Client);
        var retried = await new EventIngestor(_log, handoff2).IngestAsync([Event("p2", EventKind.Like, 1)]);
        Assert.Equal([IngestOutcome.Duplicate], retried.Outcomes);
        var population = await restarted.Client.GetGrain<IPopulationGrain>("suno").RankAsync(3, 1);
        Assert.Equal((1L, 1L), (population.TracksWithStreams, population.TracksWithLikes)); // reloaded from the log
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

    [Fact]
    public async Task Membership_writes_need_the_current_table_version_and_change_nothing_when_they_lose()
    {
        var deployment = "m-" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();

        async Task<int> RunAsync(string key, Action<NpgsqlParameterCollection> bind)
        {
            await using var lookup = new NpgsqlCommand("SELECT QueryText FROM OrleansQuery WHERE QueryKey = @key", connection);
            lookup.Parameters.AddWithValue("key", key);
            await using var command = new NpgsqlCommand((string)(await lookup.ExecuteScalarAsync())!, connection);
            command.Parameters.AddWithValue("DeploymentId", deployment);
            bind(command.Parameters);
            return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }

        void Silo(NpgsqlParameterCollection p, int generation, int version, int status = 0)
        {
            p.AddWithValue("Address", "10.0.0.1");
            p.AddWithValue("Port", 11111);
            p.AddWithValue("Generation", generation);
            p.AddWithValue("SiloName", "silo");
            p.AddWithValue("HostName", "host");
            p.AddWithValue("Status", status);
            p.AddWithValue("ProxyPort", 30000);
            p.AddWithValue("StartTime", DateTime.UtcNow);
            p.AddWithValue("IAmAliveTime", DateTime.UtcNow);
            p.AddWithValue("SuspectTimes", DBNull.Value);
            p.AddWithValue("Version", version);
        }

        async Task<int> TableVersionAsync()
        {
            await using var read = new NpgsqlCommand("SELECT Version FROM OrleansMembershipVersionTable WHERE DeploymentId = @d", connection);
            read.Parameters.AddWithValue("d", deployment);
            return (int)(await read.ExecuteScalarAsync())!;
        }

        Assert.Equal(1, await RunAsync("InsertMembershipVersionKey", _ => { }));
        Assert.Equal(0, await RunAsync("InsertMembershipVersionKey", _ => { }));
        Assert.Equal(1, await RunAsync("InsertMembershipKey", p => Silo(p, 1, version: 0)));
        Assert.Equal(1, await TableVersionAsync());
        Assert.Equal(0, await RunAsync("InsertMembershipKey", p => Silo(p, 2, version: 0)));  // stale version
        Assert.Equal(0, await RunAsync("InsertMembershipKey", p => Silo(p, 1, version: 1)));  // row exists
        Assert.Equal(1, await TableVersionAsync());                                            // and neither bumped it
        Assert.Equal(1, await RunAsync("UpdateMembershipKey", p => Silo(p, 1, version: 1, status: 3)));
        Assert.Equal(0, await RunAsync("UpdateMembershipKey", p => Silo(p, 1, version: 1, status: 6)));
        Assert.Equal(0, await RunAsync("UpdateMembershipKey", p => Silo(p, 9, version: 2, status: 6)));  // no such row
        Assert.Equal(2, await TableVersionAsync());

        await using var gateways = new NpgsqlCommand((string)(await new NpgsqlCommand("SELECT QueryText FROM OrleansQuery WHERE QueryKey = 'GatewaysQueryKey'", connection).ExecuteScalarAsync())!, connection);
        gateways.Parameters.AddWithValue("DeploymentId", deployment);
        gateways.Parameters.AddWithValue("Status", 3);
        await using (var reader = await gateways.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(("10.0.0.1", 30000, 1), (reader.GetString(reader.GetOrdinal("Address")), reader.GetInt32(reader.GetOrdinal("ProxyPort")), reader.GetInt32(reader.GetOrdinal("Generation"))));
            Assert.False(await reader.ReadAsync());
        }
    }
}
