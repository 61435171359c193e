using System.Diagnostics;
using Apex.Grains;
using Apex.Grains.Ingest;
using Apex.Grains.Scoring;
using Apex.Grains.Storage;
using Apex.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit.Abstractions;

namespace Apex.Cluster.Tests;

/// <summary>
/// Queued tracks on the cluster profile (PostgreSQL) while what they need is absent: they do no
/// database I/O while they wait for an embedder, resume when an embedder silo joins, and one gate per
/// silo (pinging with backoff) stands for all of them while the database is down.
/// </summary>
public sealed class ScoringQueueTests(ServedModel model, ThrowawayPostgres postgres, ITestOutputHelper output) : IClassFixture<ServedModel>, IClassFixture<ThrowawayPostgres>
{
    private const int Tracks = 30;

    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    /// <summary>
    /// At most this many database commands in the whole cluster per <see cref="Window"/> while only queued
    /// tracks wait, whatever their number. Orleans' reminder service reads its ring ranges when silos start
    /// (about 30 reads, whatever the number of tracks), which may fall in the window; a try per track every
    /// 2 s made 150 here.
    /// </summary>
    private const int QueryBound = 60;

    [Fact]
    public async Task Queued_tracks_without_an_embedder_cost_a_bounded_number_of_queries_and_wake_when_one_joins()
    {
        await using var cluster = await ScoringCluster.StartWithoutEmbedderAsync(model.Folder, postgres);
        var database = cluster.Database!;
        var songs = new[] { "brahms-hungarian-dance-5", "macleod-sugar-plum-fairy", "macleod-vibe-ace", "sorohan-solo-trumpet-06" };
        var ids = Enumerable.Range(0, Tracks).Select(i => $"q-{i}").ToList();
        var name = new Npgsql.NpgsqlConnectionStringBuilder(database).Database;
        var commands = 0;
        var statements = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            // This cluster's database only: other tests of this process run on the same server.
            ActivityStopped = a =>
            {
                if ((a.GetTagItem("db.namespace") ?? a.GetTagItem("db.name")) as string == name)
                {
                    Interlocked.Increment(ref commands);
                    statements.Add(a.GetTagItem("db.query.text") as string ?? a.GetTagItem("db.statement") as string ?? a.DisplayName);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        foreach (var chunk in ids.Select((id, i) => (id, i)).Chunk(10))
        {
            await Task.WhenAll(chunk.Select(t => cluster.Client.GetGrain<ITrackGrain>(t.id).RegisterAsync(
                new TrackRegistration("suno", DateTimeOffset.UtcNow.AddDays(-1), songs[t.i % songs.Length] + ".ogg", null))));
        }

        // The listener sees this database (each registration writes): a count of the idle window proves something.
        Assert.True(Volatile.Read(ref commands) >= Tracks, $"only {commands} commands seen for {Tracks} registrations");

        // Let every track make its first try (and learn that no embedder exists), then count.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var before = Volatile.Read(ref commands);
        statements.Clear();
        await Task.Delay(Window);
        var idle = Volatile.Read(ref commands) - before;

        output.WriteLine($"{idle} database commands in {Window.TotalSeconds:0} s with {Tracks} queued tracks");
        var top = statements.GroupBy(s => s.Length > 80 ? s[..80] : s).OrderByDescending(g => g.Count()).Take(5).Select(g => $"{g.Count()}× {g.Key}");
        Assert.True(idle <= QueryBound, $"{idle} database commands in {Window.TotalSeconds:0} s with {Tracks} queued tracks (bound {QueryBound}): {string.Join(" | ", top)}");
        var waiting = cluster.Cluster.Silos.Sum(s => s.ServiceProvider.GetRequiredService<ScoringWaiters>().Counts()[ScoringWait.Embedder]);
        Assert.Equal(Tracks, waiting);
        var queued = await Task.WhenAll(ids.Take(3).Select(id => cluster.Client.GetGrain<ITrackGrain>(id).GetAsync()));
        Assert.All(queued, v => Assert.Contains("no embedder available", v!.Scoring!.Error, StringComparison.Ordinal));

        // A GPU silo joins: the waiting tracks try again at their next tick.
        var joined = Stopwatch.StartNew();
        await cluster.StartSiloAsync(gpu: true);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (cluster.Cluster.Silos.Sum(s => s.ServiceProvider.GetRequiredService<ScoringWaiters>().WaitingFor(ScoringWait.Embedder).Count) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "queued tracks were not woken when an embedder silo joined");
            await Task.Delay(200);
        }

        output.WriteLine($"every waiting track woken {joined.Elapsed.TotalSeconds:0.0} s after the embedder silo started joining");

        // (That woken tracks then get scored is ScoringTests' crash-of-the-GPU-silo case.)
    }

    [Fact]
    public async Task A_database_outage_closes_one_gate_per_silo_logged_once_and_reopens_when_the_database_answers()
    {
        var database = await postgres.CreateDatabaseAsync();
        await PostgresSchema.ApplyAsync(database);
        await using var log = await PostgresIngestLog.OpenAsync(database);
        var logs = new FakeLogger<StoreOutage>();
        using var outage = new StoreOutage(log, TimeProvider.System, logs);
        await outage.StartAsync(CancellationToken.None);
        Assert.False(outage.IsDown);

        // A report the database does not confirm (a ping answers) reopens at once and logs nothing.
        outage.Report(new TimeoutException("a slow statement"));
        Assert.True(outage.IsDown);
        await WaitUntilAsync(() => !outage.IsDown, TimeSpan.FromSeconds(10), "the gate stayed closed although the database answers");
        Assert.Equal(0, logs.Collector.Count);

        await postgres.StopAsync();
        try
        {
            // Many tracks fail at once: one gate, one probe loop, one warning.
            for (var i = 0; i < 100; i++)
            {
                outage.Report(new Npgsql.NpgsqlException("connection refused " + i));
            }

            await Task.Delay(TimeSpan.FromSeconds(8));
            Assert.True(outage.IsDown);
            Assert.Equal(1, logs.Collector.GetSnapshot().Count(r => r.Level == LogLevel.Warning));
        }
        finally
        {
            await postgres.StartAsync();
        }

        // Backoff from 1 s doubling with jitter: after an 8 s outage the next ping comes within about 12 s.
        await WaitUntilAsync(() => !outage.IsDown, TimeSpan.FromSeconds(40), "the gate did not reopen after the database came back");
        var records = logs.Collector.GetSnapshot();
        Assert.Equal([LogLevel.Warning, LogLevel.Information], records.Select(r => r.Level));
        Assert.Contains("connection refused 0", records[0].Message, StringComparison.Ordinal);
        await outage.StopAsync(CancellationToken.None);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(100);
        }
    }
}
