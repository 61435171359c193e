using Apex.Grains;
using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Grains.Timelines;

namespace Apex.Cluster.Tests;

/// <summary>What every ingest log promises, checked on each database (the subclasses).</summary>
public abstract class IngestLogContract : IAsyncLifetime
{
    private IIngestLog _log = null!;

    protected static EngagementEvent Stream(string id, string track, long count = 1) => new(id, track, EventKind.Stream, count, DateTimeOffset.UnixEpoch);

    /// <summary>Opens the log on the test's database (the same one each time it is called).</summary>
    protected abstract Task<IIngestLog> ReopenAsync();

    protected abstract Task DeleteDatabaseAsync();

    public async Task InitializeAsync()
    {
        _log = await ReopenAsync();
        await _log.RegisterTrackAsync("a", "suno", DateTimeOffset.UnixEpoch);
        await _log.RegisterTrackAsync("b", "udio", DateTimeOffset.UnixEpoch.AddDays(1));
    }

    public async Task DisposeAsync()
    {
        await _log.DisposeAsync();
        await DeleteDatabaseAsync();
    }

    [Fact]
    public async Task A_re_sent_event_id_with_another_payload_is_a_conflict_that_changes_no_count()
    {
        var at = new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero).AddTicks(1234560);
        var first = await _log.AppendAsync([new("c1", "a", EventKind.Stream, 5, at), new("c2", "a", EventKind.Like, 1, at, TimestampGiven: false)]);
        var resent = await _log.AppendAsync(
        [
            new("c1", "a", EventKind.Stream, 5, at.ToOffset(TimeSpan.FromHours(2))), // the same instant, another offset: duplicate
            new("c1", "a", EventKind.Stream, 6, at), // another count: conflict
            new("c1", "a", EventKind.Like, 5, at), // another kind: conflict
            new("c1", "a", EventKind.Stream, 5, at.AddSeconds(1)), // another client time: conflict
            new("c1", "a", EventKind.Stream, 5, at.AddDays(3), TimestampGiven: false), // no client time: kind and count decide
            new("c2", "a", EventKind.Like, 1, at.AddHours(1), TimestampGiven: false), // server-stamped both times: duplicate
            new("c3", "a", EventKind.Stream, 2, at), new("c3", "a", EventKind.Stream, 3, at), // within one batch
        ]);

        Assert.Equal([IngestOutcome.Accepted, IngestOutcome.Accepted], first.Outcomes);
        Assert.Equal(
            [IngestOutcome.Duplicate, IngestOutcome.Conflict, IngestOutcome.Conflict, IngestOutcome.Conflict, IngestOutcome.Duplicate, IngestOutcome.Duplicate, IngestOutcome.Accepted, IngestOutcome.Conflict],
            resent.Outcomes);
        Assert.Equal(new TrackTotals("a", "suno", 3, 7, 1, DateTimeOffset.UnixEpoch), await _log.ReadTotalsAsync("a"));
    }

    [Fact]
    public async Task A_bulk_registration_creates_new_tracks_and_tells_the_same_from_a_conflict_durably()
    {
        var created = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
        TrackRegistration Song(string platform = "suno", string audio = "x.ogg", string? system = null) => new(platform, created, audio, null, system);
        var registeredAt = new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);
        var first = await _log.RegisterCatalogueAsync(
        [
            new("k1", Song(system: "suno-v4")),
            new("k2", Song()),
            new("k1", Song(system: "suno-v4")), // the same again, within the call
            new("k2", Song(audio: "other.ogg")), // other details, within the call
            new("a", new TrackRegistration("suno", DateTimeOffset.UnixEpoch, "a.ogg", null)), // registered one by one: platform and time agree
            new("b", new TrackRegistration("suno", DateTimeOffset.UnixEpoch.AddDays(1), "b.ogg", null)), // registered one by one on udio
        ], registeredAt);

        Assert.Equal([CatalogueOutcome.Created, CatalogueOutcome.Created, CatalogueOutcome.Same, CatalogueOutcome.Conflict, CatalogueOutcome.Same, CatalogueOutcome.Conflict], first.Outcomes);
        Assert.Equal([new TrackTotals("k1", "suno", 0, 0, 0, created), new TrackTotals("k2", "suno", 0, 0, 0, created)], first.Created);
        Assert.Equal(new CatalogueRecord("k1", Song(system: "suno-v4"), registeredAt), await _log.ReadCatalogueAsync("k1"));
        Assert.Null(await _log.ReadCatalogueAsync("a"));

        // Durable and known to the log: after reopening, a repeat is the same, other details a conflict,
        // and events for the new tracks are accepted and counted on their platform.
        await _log.DisposeAsync();
        _log = await ReopenAsync();
        Assert.Equal(
            [CatalogueOutcome.Same, CatalogueOutcome.Conflict, CatalogueOutcome.Created, CatalogueOutcome.Created],
            (await _log.RegisterCatalogueAsync([new("k1", Song(system: "suno-v4")), new("k2", Song(platform: "udio")), new("k3", Song()), new("m1", Song(platform: "mureka"))], registeredAt)).Outcomes);
        Assert.Equal(["mureka", "suno", "udio"], await _log.ListPlatformsAsync());
        var events = await _log.AppendAsync([Stream("i1", "k1", 1_500_000), Stream("i1", "k3", 7)]);
        Assert.Equal([IngestOutcome.Accepted, IngestOutcome.Accepted], events.Outcomes);
        Assert.Equal(new TrackTotals("k1", "suno", 1, 1_500_000, 0, created), await _log.ReadTotalsAsync("k1"));
        Assert.Contains(new TrackTotals("k3", "suno", 1, 7, 0, created), await _log.ReadPlatformTotalsAsync("suno"));
    }

    [Fact]
    public async Task A_bulk_registration_logs_a_new_tracks_initial_counts_in_its_own_commit()
    {
        var at = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var song = new TrackRegistration("suno", at, "x.ogg", null);
        EngagementEvent Initial(string track, EventKind kind, long count) => new($"catalogue:initial-{kind}", track, kind, count, at);
        var result = await _log.RegisterCatalogueAsync(
        [
            new("n1", song) { Initial = [Initial("n1", EventKind.Stream, 1_000), Initial("n1", EventKind.Like, 30)] },
            new("n2", song),
            new("n1", song) { Initial = [Initial("n1", EventKind.Stream, 999)] }, // the same track again: its counts are not this call's to log
            new("a", new TrackRegistration("suno", DateTimeOffset.UnixEpoch, "a.ogg", null)) { Initial = [Initial("a", EventKind.Stream, 5)] }, // known before
        ], at);

        Assert.Equal([CatalogueOutcome.Created, CatalogueOutcome.Created, CatalogueOutcome.Same, CatalogueOutcome.Same], result.Outcomes);
        Assert.Equal([new TrackTotals("n1", "suno", 2, 1_000, 30, at), new TrackTotals("n2", "suno", 0, 0, 0, at)], result.Created);
        Assert.Equal(new TrackTotals("n2", "suno", 0, 0, 0, at), await _log.ReadTotalsAsync("n2"));
        Assert.Equal(new TrackTotals("a", "suno", 0, 0, 0, DateTimeOffset.UnixEpoch), await _log.ReadTotalsAsync("a"));

        // Logged events like any other: after reopening they are the track's first two, a re-sent one is a
        // duplicate or a conflict, and the next event is the third.
        await _log.DisposeAsync();
        _log = await ReopenAsync();
        Assert.Equal([(1L, EventKind.Stream, 1_000L), (2L, EventKind.Like, 30L)], (await _log.ReadAfterAsync("n1", 0)).Select(e => (e.TrackSeq, e.Kind, e.Count)));
        var resent = await _log.AppendAsync([Initial("n1", EventKind.Stream, 1_000), Initial("n1", EventKind.Like, 31), Stream("s1", "n1", 4)]);
        Assert.Equal([IngestOutcome.Duplicate, IngestOutcome.Conflict, IngestOutcome.Accepted], resent.Outcomes);
        Assert.Equal(new TrackTotals("n1", "suno", 3, 1_004, 30, at), await _log.ReadTotalsAsync("n1"));
        Assert.Contains(new TrackTotals("n1", "suno", 3, 1_004, 30, at), await _log.ReadPlatformTotalsAsync("suno"));
    }

    [Fact]
    public async Task A_tracks_curve_sums_its_events_by_event_time_once_across_a_restart()
    {
        var now = DateTimeOffset.UtcNow;
        var hour = DateTimeOffset.FromUnixTimeSeconds(Bucket.StartOf(BucketWidth.Hour, (now - TimeSpan.FromHours(3)).ToUnixTimeSeconds()));
        var day = DateTimeOffset.FromUnixTimeSeconds(Bucket.StartOf(BucketWidth.Day, (now - TimeSpan.FromDays(20)).ToUnixTimeSeconds()));
        EngagementEvent At(string id, EventKind kind, long count, DateTimeOffset ts) => new(id, "a", kind, count, ts);
        await _log.AppendAsync([At("t1", EventKind.Stream, 3, hour.AddMinutes(1)), At("t2", EventKind.Like, 1, hour.AddMinutes(59))]);
        await _log.AppendAsync(
        [
            At("t3", EventKind.Stream, 2, hour.AddMinutes(30)),
            At("t4", EventKind.Stream, 5, hour.AddHours(-1)), // out of order: its own, earlier bucket
            At("t5", EventKind.Stream, 7, day.AddHours(5)), // older than the hourly window: days only
            At("t6", EventKind.Stream, 11, now - TimeSpan.FromDays(800)), // older than both windows: totals only
            At(CatalogueEntry.InitialStreamsEventId, EventKind.Stream, 1_000, hour.AddMinutes(2)), // counts so far, not activity
        ]);

        async Task AssertCurvesAsync()
        {
            Assert.Equal(
                [new TimelinePoint(hour.AddHours(-1), 5, 0), new TimelinePoint(hour, 5, 1)],
                await _log.ReadTimelineAsync("a", BucketWidth.Hour, hour.AddHours(-2), now));
            Assert.Empty(await _log.ReadTimelineAsync("a", BucketWidth.Hour, now - TimeSpan.FromDays(30), now - TimeSpan.FromDays(10)));
            var days = await _log.ReadTimelineAsync("a", BucketWidth.Day, now - TimeSpan.FromDays(30), now.AddDays(1));
            Assert.Equal(new TimelinePoint(day, 7, 0), days[0]);
            Assert.Equal(5 + 5, days.Skip(1).Sum(p => p.Streams));
            Assert.Equal(3 + 2 + 5 + 7 + 11 + 1_000, (await _log.ReadTotalsAsync("a"))!.Streams);
        }

        await AssertCurvesAsync();
        await _log.DisposeAsync();
        _log = await ReopenAsync();
        await AssertCurvesAsync();

        // Many tracks' hours at once (what velocities read): only the hours asked for, of the tracks asked for.
        await _log.AppendAsync([new EngagementEvent("u1", "b", EventKind.Stream, 9, hour.AddMinutes(5))]);
        Assert.Equal(
            [new TrackPoint("a", hour, 5, 1), new TrackPoint("b", hour, 9, 0)],
            (await _log.ReadHourlyAsync(["a", "b", "zzz"], hour)).OrderBy(p => p.TrackId, StringComparer.Ordinal));
        Assert.Equal([new TrackPoint("b", hour, 9, 0)], await _log.ReadHourlyAsync(["b"], hour.AddHours(-1)));

        // Compaction drops the buckets past their window (here: hours older than one hour).
        _log.Retention = TimelineRetention.Default with { Hourly = TimeSpan.FromHours(1) };
        await _log.CompactAsync();
        Assert.Empty(await _log.ReadTimelineAsync("a", BucketWidth.Hour, hour.AddHours(-2), now));
        Assert.Equal(new TimelinePoint(day, 7, 0), (await _log.ReadTimelineAsync("a", BucketWidth.Day, day, now))[0]);
    }

    [Fact]
    public async Task Each_event_is_accepted_once_per_track_and_unknown_tracks_are_rejected_per_event()
    {
        var result = await _log.AppendAsync([Stream("e1", "a"), Stream("e1", "b"), Stream("e1", "a"), Stream("e2", "zzz"), Stream("e2", "a", 5)]);

        Assert.Equal([IngestOutcome.Accepted, IngestOutcome.Accepted, IngestOutcome.Duplicate, IngestOutcome.UnknownTrack, IngestOutcome.Accepted], result.Outcomes);
        Assert.Equal([1L, 1L, 2L], result.Accepted.Select(e => e.TrackSeq));

        var retry = await _log.AppendAsync([Stream("e2", "a", 5), Stream("e3", "a")]);
        Assert.Equal([IngestOutcome.Duplicate, IngestOutcome.Accepted], retry.Outcomes);
        Assert.Equal([1L, 2L, 3L], (await _log.ReadAfterAsync("a", 0)).Select(e => e.TrackSeq));
        Assert.Equal(5L + 1, (await _log.ReadAfterAsync("a", 1)).Sum(e => e.Count));
        Assert.Equal(new TrackTotals("a", "suno", 3, 7, 0, DateTimeOffset.UnixEpoch), await _log.ReadTotalsAsync("a"));
        Assert.Equal(new TrackTotals("a", "suno", 3, 7, 0, DateTimeOffset.UnixEpoch), retry.Totals.Single());
        var onlyDuplicates = await _log.AppendAsync([Stream("e3", "a")]);
        Assert.Equal(new TrackTotals("a", "suno", 3, 7, 0, DateTimeOffset.UnixEpoch), onlyDuplicates.Totals.Single()); // re-sent so a retry can heal a lost hand-off
        Assert.Equal(["b"], (await _log.ReadPlatformTotalsAsync("udio")).Select(t => t.TrackId));
        await _log.RegisterTrackAsync("c", "suno", DateTimeOffset.UnixEpoch.AddDays(2));
        Assert.Equal(
            [new TrackTotals("a", "suno", 3, 7, 0, DateTimeOffset.UnixEpoch), new TrackTotals("c", "suno", 0, 0, 0, DateTimeOffset.UnixEpoch.AddDays(2))],
            (await _log.ReadPlatformTotalsAsync("suno")).OrderBy(t => t.TrackId, StringComparer.Ordinal));
        Assert.Empty(await _log.ReadPlatformTotalsAsync("none"));
        Assert.Equal(["suno", "udio"], await _log.ListPlatformsAsync());
    }

    [Fact]
    public async Task Concurrent_batches_are_group_committed_without_losing_or_doubling_events()
    {
        var batches = Enumerable.Range(0, 40).Select(b => (IReadOnlyList<EngagementEvent>)Enumerable.Range(0, 250)
            .Select(i => Stream($"e{(b * 250 + i) % 6_000}", i % 2 == 0 ? "a" : "b")).ToList()).ToList();

        var results = await Task.WhenAll(batches.Select(batch => Task.Run(() => _log.AppendAsync(batch))));

        // 10,000 events over 6,000 distinct (id) values split by track parity: each (track, id) once.
        var accepted = results.Sum(r => r.Outcomes.Count(o => o == IngestOutcome.Accepted));
        var distinct = batches.SelectMany(b => b).Select(e => (e.TrackId, e.EventId)).Distinct().Count();
        Assert.Equal(distinct, accepted);
        Assert.Equal(10_000 - distinct, results.Sum(r => r.Outcomes.Count(o => o == IngestOutcome.Duplicate)));
        var logged = await _log.ReadAfterAsync("a", 0);
        Assert.Equal(Enumerable.Range(1, logged.Count).Select(i => (long)i), logged.Select(e => e.TrackSeq));
    }

    [Fact]
    public async Task Acknowledged_events_survive_reopening_and_keep_deduplicating()
    {
        await _log.AppendAsync([Stream("x1", "a"), Stream("x2", "a")]);
        await _log.DisposeAsync();

        _log = await ReopenAsync();
        var again = await _log.AppendAsync([Stream("x2", "a"), Stream("x3", "a")]);

        Assert.Equal([IngestOutcome.Duplicate, IngestOutcome.Accepted], again.Outcomes);
        Assert.Equal(3L, again.Accepted.Single().TrackSeq);
    }

    [Fact]
    public async Task Compaction_keeps_the_dedup_window_and_the_totals()
    {
        await _log.AppendAsync(Enumerable.Range(1, 10).Select(i => Stream($"c{i}", "a")).ToList());

        Assert.Equal(7, await _log.CompactAsync(window: 3));

        Assert.Equal([8L, 9L, 10L], (await _log.ReadAfterAsync("a", 0)).Select(e => e.TrackSeq));
        Assert.Equal(10, (await _log.ReadTotalsAsync("a"))!.Streams);
        var retry = await _log.AppendAsync([Stream("c10", "a"), Stream("c11", "a")]);
        Assert.Equal([IngestOutcome.Duplicate, IngestOutcome.Accepted], retry.Outcomes);
    }
}
