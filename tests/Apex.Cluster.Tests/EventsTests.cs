using Apex.Core.Popularity;
using Apex.Grains;
using Apex.Grains.Events;
using Apex.Grains.Ingest;

namespace Apex.Cluster.Tests;

public sealed class EventsTests : IAsyncLifetime
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"apex-events-{Guid.NewGuid():N}.db");
    private readonly string _serviceId = "apex-test-" + Guid.NewGuid().ToString("N")[..8];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SqliteCluster.DeleteFiles(_database);
        return Task.CompletedTask;
    }

    private static async Task RegisterAsync(SqliteCluster cluster, int tracks)
    {
        for (var i = 0; i < tracks; i++)
        {
            await cluster.Client.GetGrain<ITrackGrain>($"t{i}").RegisterAsync(new TrackRegistration(i % 3 == 0 ? "udio" : "suno", DateTimeOffset.UnixEpoch, $"media/t{i}.mp3", null));
        }
    }

    /// <summary>Batches where each event is sent twice (a retry after a lost acknowledgement) and some tracks are unknown.</summary>
    private static List<List<EngagementEvent>> Traffic(int tracks, int events, int seed)
    {
        var random = new Random(seed);
        var all = Enumerable.Range(0, events).Select(i => new EngagementEvent(
            $"ev-{i}", random.NextDouble() < 0.02 ? "ghost" : $"t{(int)Math.Pow(random.Next(1, tracks * tracks), 0.5) % tracks}",
            random.NextDouble() < 0.8 ? EventKind.Stream : EventKind.Like, 1 + random.Next(3), DateTimeOffset.UnixEpoch)).ToList();
        var sent = all.Concat(all.Where((_, i) => i % 2 == 0)).OrderBy(_ => random.Next()).ToList();
        return sent.Chunk(500).Select(c => c.ToList()).ToList();
    }

    [Fact]
    public async Task Counts_are_exactly_once_under_retries_and_percentiles_match_the_transform()
    {
        var expected = new Dictionary<string, (long Streams, long Likes)>();
        await using (var cluster = await SqliteCluster.StartAsync(_database, _serviceId))
        {
            await RegisterAsync(cluster, 40);
            var traffic = Traffic(40, 4_000, seed: 1);
            var results = await Task.WhenAll(traffic.Select(batch => cluster.Ingestor.IngestAsync(batch)));

            var unique = traffic.SelectMany(b => b).DistinctBy(e => (e.TrackId, e.EventId)).Where(e => e.TrackId != "ghost").ToList();
            Assert.Equal(unique.Count, results.Sum(r => r.Outcomes.Count(o => o == IngestOutcome.Accepted)));
            Assert.All(results.SelectMany(r => r.Outcomes.Zip(traffic[Array.IndexOf(results, r)]))
                .Where(p => p.Second.TrackId == "ghost"), p => Assert.Equal(IngestOutcome.UnknownTrack, p.First));
            foreach (var g in unique.GroupBy(e => e.TrackId))
            {
                expected[g.Key] = (g.Where(e => e.Kind == EventKind.Stream).Sum(e => e.Count), g.Where(e => e.Kind == EventKind.Like).Sum(e => e.Count));
                var view = await cluster.Client.GetGrain<ITrackGrain>(g.Key).GetAsync();
                Assert.Equal(expected[g.Key], (view!.Streams, view.Likes));
            }

            await AssertPercentilesAsync(cluster, expected);
        }

        // A full restart: counts and percentiles come back from SQLite, nothing is counted twice on replay.
        await using var restarted = await SqliteCluster.StartAsync(_database, _serviceId);
        foreach (var (track, counts) in expected)
        {
            var view = await restarted.Client.GetGrain<ITrackGrain>(track).GetAsync();
            Assert.Equal(counts, (view!.Streams, view.Likes));
        }

        await AssertPercentilesAsync(restarted, expected);
        var again = await restarted.Ingestor.IngestAsync(Traffic(40, 4_000, seed: 1)[0]);
        Assert.DoesNotContain(IngestOutcome.Accepted, again.Outcomes);
    }

    private static async Task AssertPercentilesAsync(SqliteCluster cluster, Dictionary<string, (long Streams, long Likes)> counts)
    {
        var platformOf = (string track) => int.Parse(track[1..], System.Globalization.CultureInfo.InvariantCulture) % 3 == 0 ? "udio" : "suno";
        foreach (var platform in new[] { "suno", "udio" })
        {
            var members = counts.Where(c => platformOf(c.Key) == platform && c.Value.Streams > 0).ToList();
            var expected = PopularityScore.PercentileRanks(members.Select(m => (double)m.Value.Streams).ToArray());
            for (var i = 0; i < members.Count; i++)
            {
                var view = await cluster.Client.GetGrain<IPopulationGrain>(platform).RankAsync(members[i].Value.Streams, 0);
                Assert.Equal(expected[i], view.StreamsPercentile!.Value, 12);
                Assert.Equal(PopularityScore.FromPercentile(expected[i]), view.StreamsScore!.Value, 9);
                Assert.Null(view.LikesPercentile); // zero is not a label
            }
        }
    }

    [Fact]
    public async Task Stopping_and_starting_a_silo_loses_nothing_and_counts_stay_exact()
    {
        await using var cluster = await SqliteCluster.StartAsync(_database, _serviceId);
        await RegisterAsync(cluster, 20);
        var traffic = Traffic(20, 2_000, seed: 3);
        foreach (var batch in traffic.Take(3))
        {
            await cluster.Ingestor.IngestAsync(batch);
        }

        // A silo goes away mid-traffic (its activations with it) and a new one joins.
        await cluster.Cluster.StopSiloAsync(cluster.Cluster.Silos[^1]);
        foreach (var batch in traffic.Skip(3))
        {
            await cluster.Ingestor.IngestAsync(batch);
        }

        await cluster.Cluster.StartAdditionalSiloAsync();

        var unique = traffic.SelectMany(b => b).DistinctBy(e => (e.TrackId, e.EventId)).Where(e => e.TrackId != "ghost").ToList();
        var expected = new Dictionary<string, (long Streams, long Likes)>();
        foreach (var g in unique.GroupBy(e => e.TrackId))
        {
            expected[g.Key] = (g.Where(e => e.Kind == EventKind.Stream).Sum(e => e.Count), g.Where(e => e.Kind == EventKind.Like).Sum(e => e.Count));
            var view = await cluster.Client.GetGrain<ITrackGrain>(g.Key).GetAsync();
            Assert.Equal(expected[g.Key], (view!.Streams, view.Likes));
        }

        await AssertPercentilesAsync(cluster, expected);
    }

    [Fact]
    public async Task A_late_hand_off_with_older_totals_does_not_move_a_track_back()
    {
        await using var cluster = await SqliteCluster.StartAsync(_database, _serviceId, silos: 1);
        var population = cluster.Client.GetGrain<IPopulationGrain>("late");
        await population.UpdateAsync([new TrackTotals("x", "late", 1, 1, 0), new TrackTotals("y", "late", 1, 5, 0)]);

        await population.UpdateAsync([new TrackTotals("x", "late", 9, 10, 0)]);
        await population.UpdateAsync([new TrackTotals("x", "late", 4, 3, 0)]); // committed earlier, arrived later

        // x holds 10 (not 3): above y's 5, so it ranks first of two.
        Assert.Equal(1.0, (await population.RankAsync(10, 0)).StreamsPercentile);
        Assert.Equal(0.5, (await population.RankAsync(5, 0)).StreamsPercentile);
        Assert.Equal(2, (await population.RankAsync(10, 0)).TracksWithStreams);
    }
}
