using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Grains.Storage;
using Apex.Testing;

namespace Apex.Cluster.Tests;

/// <summary>The ingest log contract on PostgreSQL, and what only a shared database adds: several silos writing at once.</summary>
public sealed class PostgresIngestLogTests(ThrowawayPostgres postgres) : IngestLogContract, IClassFixture<ThrowawayPostgres>
{
    private string? _connectionString;

    protected override async Task<IIngestLog> ReopenAsync()
    {
        if (_connectionString is null)
        {
            _connectionString = await postgres.CreateDatabaseAsync();
            await PostgresSchema.ApplyAsync(_connectionString);
        }

        return await PostgresIngestLog.OpenAsync(_connectionString);
    }

    protected override Task DeleteDatabaseAsync() => Task.CompletedTask; // the server and its databases go with the fixture

    [Fact]
    public async Task Silos_writing_the_same_tracks_at_once_count_each_event_once_and_number_them_without_gaps()
    {
        // Three logs = three silos on one database, each sent overlapping batches (client retries land
        // on whichever silo the load balancer picks), with duplicates inside and across batches.
        var silos = new[] { await ReopenAsync(), await ReopenAsync(), await ReopenAsync() };
        try
        {
            // Spread over the last five hours, so the commits also add to the same curve buckets at once
            // (they may span midnight: the daily read below starts two days back, a bucket start is never later).
            var now = DateTimeOffset.UtcNow;
            var batches = Enumerable.Range(0, 60).Select(b => (IReadOnlyList<EngagementEvent>)Enumerable.Range(0, 200)
                .Select(i => (Id: (b * 200 + i) % 5_000, Track: (i % 3) switch { 0 => "a", 1 => "b", _ => "nope" }, Count: 1 + (i % 4)))
                .Select(e => new EngagementEvent($"e{e.Id}", e.Track, EventKind.Stream, e.Count, now.AddHours(-(e.Id % 5))))
                .ToList()).ToList();

            var results = await Task.WhenAll(batches.Select((batch, i) => Task.Run(() => silos[i % 3].AppendAsync(batch))));

            var expected = batches.SelectMany(b => b).Where(e => e.TrackId != "nope")
                .GroupBy(e => (e.TrackId, e.EventId)).Select(g => g.First()).ToList();
            Assert.Equal(expected.Count, results.Sum(r => r.Outcomes.Count(o => o == IngestOutcome.Accepted)));
            Assert.Equal(batches.Sum(b => b.Count(e => e.TrackId == "nope")), results.Sum(r => r.Outcomes.Count(o => o == IngestOutcome.UnknownTrack)));
            foreach (var track in new[] { "a", "b" })
            {
                var logged = await silos[0].ReadAfterAsync(track, 0);
                Assert.Equal(Enumerable.Range(1, logged.Count).Select(i => (long)i), logged.Select(e => e.TrackSeq));
                var totals = await silos[1].ReadTotalsAsync(track);
                Assert.Equal(expected.Where(e => e.TrackId == track).Sum(e => e.Count), totals!.Streams);
                Assert.Equal(logged.Count, totals.LastSeq);
                Assert.Equal(totals.Streams, (await silos[2].ReadTimelineAsync(track, Apex.Grains.Timelines.BucketWidth.Hour, now.AddHours(-6), now.AddHours(1))).Sum(p => p.Streams));
                Assert.Equal(totals.Streams, (await silos[0].ReadTimelineAsync(track, Apex.Grains.Timelines.BucketWidth.Day, now.AddDays(-2), now.AddDays(1))).Sum(p => p.Streams));
            }
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Silos_registering_one_catalogue_at_once_create_each_track_once_and_log_its_counts_once()
    {
        // A catalogue import whose batches (retried, overlapping) land on three silos at once.
        var silos = new[] { await ReopenAsync(), await ReopenAsync(), await ReopenAsync() };
        try
        {
            var at = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
            CatalogueEntry Entry(int i) => new($"cat-{i}", new Apex.Grains.TrackRegistration("suno", at, $"{i}.ogg", null))
            {
                Initial = [new EngagementEvent("catalogue:initial-streams", $"cat-{i}", EventKind.Stream, 100 + i, at), new EngagementEvent("catalogue:initial-likes", $"cat-{i}", EventKind.Like, 1 + (i % 7), at)],
            };
            // Each batch in its own order: overlapping registrations must not deadlock on each other's rows.
            var shuffle = new Random(20);
            var batches = Enumerable.Range(0, 30).Select(b => (IReadOnlyList<CatalogueEntry>)Enumerable.Range(b * 50, 200).Select(i => Entry(i % 1_000)).OrderBy(_ => shuffle.Next()).ToList()).ToList();

            var results = await Task.WhenAll(batches.Select((batch, i) => Task.Run(() => silos[i % 3].RegisterCatalogueAsync(batch, at))));

            Assert.Equal(1_000, results.Sum(r => r.Outcomes.Count(o => o == CatalogueOutcome.Created)));
            Assert.DoesNotContain(results.SelectMany(r => r.Outcomes), o => o == CatalogueOutcome.Conflict);
            Assert.Equal(1_000, results.Sum(r => r.Created.Count));
            foreach (var i in new[] { 0, 1, 499, 999 })
            {
                Assert.Equal(new TrackTotals($"cat-{i}", "suno", 2, 100 + i, 1 + (i % 7), at), await silos[(i + 1) % 3].ReadTotalsAsync($"cat-{i}"));
                Assert.Equal([1L, 2L], (await silos[i % 3].ReadAfterAsync($"cat-{i}", 0)).Select(e => e.TrackSeq));
            }
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_database_without_the_schema_is_refused_with_the_command_that_fixes_it()
    {
        var empty = await postgres.CreateDatabaseAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresIngestLog.OpenAsync(empty));

        Assert.Contains("apex db init", error.Message, StringComparison.Ordinal);
    }
}
