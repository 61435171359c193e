using Apex.Core.Popularity;
using Apex.Grains;
using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Grains.Populations;
using Microsoft.Extensions.DependencyInjection;

namespace Apex.Cluster.Tests;

/// <summary>A silo dies: the survivors keep acknowledging what they commit, and the populations heal.</summary>
public sealed class SiloLossTests : IAsyncLifetime
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"apex-loss-{Guid.NewGuid():N}.db");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SqliteCluster.DeleteFiles(_database);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Killing_the_silo_of_the_population_grains_fails_no_batch_on_the_survivor_and_the_percentiles_end_exact()
    {
        await using var cluster = await SqliteCluster.StartAsync(_database, "apex-loss-" + Guid.NewGuid().ToString("N")[..8]);
        var population = cluster.Client.GetGrain<IPopulationGrain>("suno");
        var doomed = await cluster.HostOfAsync(population);
        var survivor = cluster.Cluster.Silos.Single(s => s != doomed);
        await using var handoff = new PopulationHandoff(survivor.ServiceProvider.GetRequiredService<IGrainFactory>());
        var ingestor = new EventIngestor(cluster.Log, handoff);
        for (var i = 0; i < 30; i++)
        {
            await cluster.Log.RegisterTrackAsync($"t{i}", "suno", DateTimeOffset.UnixEpoch);
        }

        var batches = Enumerable.Range(0, 40).Select(b => Enumerable.Range(0, 50).Select(i => new EngagementEvent(
            $"e{b}-{i}", $"t{(b * 7 + i * i) % 30}", i % 4 == 0 ? EventKind.Like : EventKind.Stream, 1 + (i % 3), DateTimeOffset.UnixEpoch)).ToList()).ToList();
        foreach (var batch in batches.Take(5))
        {
            await ingestor.IngestAsync(batch);
        }

        await cluster.Cluster.KillSiloAsync(doomed);
        // Every batch through the survivor is acknowledged while the dead silo is not yet declared dead.
        foreach (var batch in batches.Skip(5))
        {
            var result = await ingestor.IngestAsync(batch);
            Assert.All(result.Outcomes, o => Assert.Equal(IngestOutcome.Accepted, o));
        }

        var expected = batches.SelectMany(b => b).GroupBy(e => e.TrackId).ToDictionary(
            g => g.Key, g => (Streams: g.Where(e => e.Kind == EventKind.Stream).Sum(e => e.Count), Likes: g.Where(e => e.Kind == EventKind.Like).Sum(e => e.Count)));
        foreach (var (track, counts) in expected)
        {
            var totals = await cluster.Log.ReadTotalsAsync(track);
            Assert.Equal(counts, (totals!.Streams, totals.Likes));
        }

        await AssertConvergesAsync(survivor.ServiceProvider.GetRequiredService<IGrainFactory>(), "suno", expected.Values.Select(v => v.Streams).ToList(), TimeSpan.FromSeconds(60));
        Assert.Equal(0, handoff.Waiting);
    }

    [Fact]
    public async Task A_hand_off_lost_with_its_silo_is_repaired_once_the_silo_is_declared_dead()
    {
        await using var cluster = await SqliteCluster.StartAsync(_database, "apex-lost-" + Guid.NewGuid().ToString("N")[..8]);
        var population = cluster.Client.GetGrain<IPopulationGrain>("udio");
        var keeper = await cluster.HostOfAsync(population);
        var doomed = cluster.Cluster.Silos.Single(s => s != keeper);
        await cluster.Log.RegisterTrackAsync("a", "udio", DateTimeOffset.UnixEpoch);
        await cluster.Log.RegisterTrackAsync("b", "udio", DateTimeOffset.UnixEpoch);
        await cluster.Ingestor.IngestAsync([new EngagementEvent("x1", "a", EventKind.Stream, 5, DateTimeOffset.UnixEpoch)]);

        // Committed by a silo that died before its hand-off: only the log knows.
        await cluster.Log.AppendAsync([new EngagementEvent("x2", "b", EventKind.Stream, 9, DateTimeOffset.UnixEpoch)]);
        Assert.Equal(1, (await population.RankAsync(9, 0)).TracksWithStreams);
        await cluster.Cluster.KillSiloAsync(doomed);

        await AssertConvergesAsync(keeper.ServiceProvider.GetRequiredService<IGrainFactory>(), "udio", [5, 9], TimeSpan.FromSeconds(60));
    }

    /// <summary>Waits until the population ranks every count as the transform does; fails after <paramref name="within"/>.</summary>
    private static async Task AssertConvergesAsync(IGrainFactory grains, string platform, IReadOnlyList<long> streams, TimeSpan within)
    {
        var counts = streams.Where(s => s > 0).ToList();
        var expected = PopularityScore.PercentileRanks(counts.Select(c => (double)c).ToArray());
        var population = grains.GetGrain<IPopulationGrain>(platform);
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            try
            {
                var views = new List<PopularityView>();
                foreach (var c in counts)
                {
                    views.Add(await population.RankAsync(c, 0));
                }

                if (views.All(v => v.TracksWithStreams == counts.Count) && views.Select(v => v.StreamsPercentile!.Value).Zip(expected).All(p => Math.Abs(p.First - p.Second) < 1e-12))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException && DateTime.UtcNow < deadline)
            {
                // The grain's silo is not declared dead yet.
            }

            Assert.True(DateTime.UtcNow < deadline, $"The {platform} population did not reach the log's distribution within {within}.");
            await Task.Delay(250);
        }
    }
}
