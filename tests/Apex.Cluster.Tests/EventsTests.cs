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

    [Fact]
    public async Task A_population_lists_its_tracks_by_streams_likes_and_age_and_sums_them()
    {
        await using var cluster = await SqliteCluster.StartAsync(_database, _serviceId, silos: 1);
        var population = cluster.Client.GetGrain<IPopulationGrain>("lists");
        var epoch = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        // More tracks than a listing holds, in batches as commits hand them over, counts growing over time.
        var tracks = Enumerable.Range(0, 1_500).Select(i => new TrackTotals($"t{i:0000}", "lists", 1, (i * 7919) % 1_000, (i * 104_729) % 300, epoch.AddMinutes((i * 31) % 1_500))).ToList();
        foreach (var batch in tracks.Chunk(250))
        {
            await population.UpdateAsync(batch);
        }

        var grown = tracks.Where((_, i) => i % 3 == 0).Select(t => t with { LastSeq = 2, Streams = t.Streams + 500, CreatedAt = default }).ToList();
        await population.UpdateAsync(grown); // a sender without the creation time keeps the one held
        var latest = tracks.ToDictionary(t => t.TrackId, StringComparer.Ordinal);
        foreach (var t in grown)
        {
            latest[t.TrackId] = t with { CreatedAt = latest[t.TrackId].CreatedAt };
        }

        async Task AssertListingAsync(TrackSort sort, Func<TrackTotals, long> key, int limit)
        {
            var expected = latest.Values.OrderByDescending(key).ThenBy(t => t.TrackId, StringComparer.Ordinal).Take(limit)
                .Select(t => new TrackListing(t.TrackId, t.CreatedAt, t.Streams, t.Likes));
            Assert.Equal(expected, await population.ListTracksAsync(sort, limit));
        }

        await AssertListingAsync(TrackSort.Streams, t => t.Streams, TrackListing.MaxLimit);
        await AssertListingAsync(TrackSort.Likes, t => t.Likes, 10);
        await AssertListingAsync(TrackSort.Newest, t => t.CreatedAt.UtcTicks, TrackListing.MaxLimit);
        Assert.Equal(new PlatformSummary(1_500, latest.Values.Sum(t => t.Streams), latest.Values.Sum(t => t.Likes)), await population.SummarizeAsync());

        // A top track whose count falls (a newer total, lower) gives way to the next: the listing is rebuilt.
        var first = (await population.ListTracksAsync(TrackSort.Streams, 1))[0];
        await population.UpdateAsync([latest[first.TrackId] with { LastSeq = 9, Streams = 0 }]);
        latest[first.TrackId] = latest[first.TrackId] with { LastSeq = 9, Streams = 0 };
        await AssertListingAsync(TrackSort.Streams, t => t.Streams, TrackListing.MaxLimit);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => population.ListTracksAsync(TrackSort.Streams, TrackListing.MaxLimit + 1));
    }

    [Fact]
    public async Task Planted_breakouts_in_simulated_traffic_are_found_and_steady_tracks_are_not()
    {
        await using var cluster = await SqliteCluster.StartAsync(_database, _serviceId, silos: 1);
        var now = DateTimeOffset.UtcNow;
        var random = new Random(17);
        var planted = new HashSet<string>(["hit-1", "hit-2"], StringComparer.Ordinal);
        var ids = Enumerable.Range(0, 40).Select(i => $"steady-{i:00}").Concat(planted).ToList();
        foreach (var id in ids)
        {
            await cluster.Log.RegisterTrackAsync(id, "hits", now.AddDays(-2).AddMinutes(random.Next(60)));
        }

        // A day and a half of traffic by event time: steady tracks 5 to 15 streams an hour, the planted ones
        // the same until twelve hours ago and then twenty times as fast; events arrive shuffled, in batches.
        var events = new List<EngagementEvent>();
        foreach (var id in ids)
        {
            var rate = 5 + random.Next(11);
            for (var hour = 36; hour > 0; hour--)
            {
                var count = planted.Contains(id) && hour <= 12 ? rate * 20 : rate;
                events.Add(new EngagementEvent($"{id}-{hour}", id, EventKind.Stream, count, now.AddHours(-hour).AddMinutes(random.Next(60))));
            }
        }

        foreach (var batch in events.OrderBy(_ => random.Next()).Chunk(200))
        {
            await cluster.Ingestor.IngestAsync(batch);
        }

        var population = cluster.Client.GetGrain<IPopulationGrain>("hits");
        await population.RefreshSignalsAsync();

        var breakouts = await population.GetBreakoutsAsync();
        Assert.Equal(planted.Order(StringComparer.Ordinal), breakouts.Select(b => b.TrackId).Order(StringComparer.Ordinal));
        Assert.All(breakouts, b => Assert.Contains("cohort", b.Reasons));
        var steady = await population.GetVelocityAsync("steady-00");
        Assert.NotNull(steady);
        Assert.False(steady.IsBreakout);
        Assert.Equal((42, "1-3d"), (steady.CohortSize, steady.Cohort));
        var expected = events.Where(e => e.TrackId == "steady-00" && e.Timestamp >= now.AddHours(-24)).Sum(e => e.Count) / 24.0;
        Assert.InRange(steady.StreamsPerHour, expected - 1, expected + 1); // the refresh ran a moment after "now"
    }
}
