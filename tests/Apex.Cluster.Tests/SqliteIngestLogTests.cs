using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Microsoft.Data.Sqlite;

namespace Apex.Cluster.Tests;

public sealed class SqliteIngestLogTests : IngestLogContract
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"apex-ingest-{Guid.NewGuid():N}.db");

    protected override async Task<IIngestLog> ReopenAsync() => await SqliteIngestLog.OpenAsync(_database);

    protected override Task DeleteDatabaseAsync()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
        {
            File.Delete(file);
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_commit_writes_one_row_however_many_events_it_accepts()
    {
        await using (var log = await SqliteIngestLog.OpenAsync(_database))
        {
            await log.AppendAsync(Enumerable.Range(0, 500).Select(i => Stream($"r{i}", i % 2 == 0 ? "a" : "b")).ToList());
        }

        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM apex_batches"));
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM apex_events"));
    }

    [Fact]
    public async Task Events_logged_after_the_last_checkpoint_are_counted_again_at_start()
    {
        await using (var log = await SqliteIngestLog.OpenAsync(_database))
        {
            await log.AppendAsync([Stream("k1", "a", 4), new("k2", "a", EventKind.Like, 2, DateTimeOffset.UnixEpoch), Stream("k3", "b", 3)]);
        }

        // What a crash before the first checkpoint leaves: the batch logged, the totals as they were.
        await ExecuteAsync("UPDATE apex_tracks SET last_seq = 0, streams = 0, likes = 0");
        await using (var log = await SqliteIngestLog.OpenAsync(_database))
        {
            Assert.Equal(new TrackTotals("a", "suno", 2, 4, 2, DateTimeOffset.UnixEpoch), await log.ReadTotalsAsync("a"));
            Assert.Equal([new TrackTotals("b", "udio", 1, 3, 0, DateTimeOffset.UnixEpoch.AddDays(1))], await log.ReadPlatformTotalsAsync("udio"));
            var retry = await log.AppendAsync([Stream("k1", "a", 4), Stream("k4", "a")]);
            Assert.Equal([IngestOutcome.Duplicate, IngestOutcome.Accepted], retry.Outcomes);
            Assert.Equal(3L, retry.Accepted.Single().TrackSeq);
        }

        // A crash after a checkpoint: only what is newer than the checkpointed totals counts again.
        await ExecuteAsync("UPDATE apex_tracks SET last_seq = 2, streams = 4, likes = 2 WHERE track_id = 'a'");
        await using (var log = await SqliteIngestLog.OpenAsync(_database))
        {
            Assert.Equal(new TrackTotals("a", "suno", 3, 5, 2, DateTimeOffset.UnixEpoch), await log.ReadTotalsAsync("a"));
        }
    }

    [Fact]
    public async Task Batches_logged_after_the_curves_last_checkpoint_are_summed_in_once_at_start()
    {
        var at = DateTimeOffset.UtcNow.AddHours(-1);
        await using (var log = await SqliteIngestLog.OpenAsync(_database))
        {
            await log.AppendAsync([new("k1", "a", EventKind.Stream, 4, at), new("k2", "a", EventKind.Like, 2, at)]);
        }

        // What a crash before the checkpoint leaves: the batch logged, the curve and its cursor as they were.
        await ExecuteAsync("DELETE FROM apex_timeline; UPDATE apex_timeline_cursor SET rolled_through = 0;");
        for (var start = 0; start < 2; start++)
        {
            await using var log = await SqliteIngestLog.OpenAsync(_database);
            var points = await log.ReadTimelineAsync("a", Apex.Grains.Timelines.BucketWidth.Hour, at.AddHours(-1), at.AddHours(1));
            Assert.Equal((4L, 2L), (points.Single().Streams, points.Single().Likes));
        }
    }

    [Fact]
    public async Task A_log_of_an_earlier_version_keeps_its_platforms_and_drops_the_listing_indexes()
    {
        await using (await SqliteIngestLog.OpenAsync(_database))
        {
        }

        // What earlier versions left: the listing indexes, and tracks of platforms not in apex_platforms.
        await ExecuteAsync(
            "DELETE FROM apex_platforms; INSERT INTO apex_tracks (track_id, platform, created_at) VALUES ('m1', 'mureka', 0);" +
            "CREATE INDEX ix_apex_tracks_streams ON apex_tracks (platform, streams); CREATE INDEX ix_apex_tracks_likes ON apex_tracks (platform, likes);" +
            "CREATE INDEX ix_apex_tracks_created ON apex_tracks (platform, created_at);");

        await using var reopened = await SqliteIngestLog.OpenAsync(_database);

        Assert.Equal(["mureka", "suno", "udio"], await reopened.ListPlatformsAsync());
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_apex_tracks_%'"));
    }

    [Fact]
    public async Task A_log_of_the_row_per_event_layout_moves_into_a_batch_and_keeps_deduplicating()
    {
        await using (await SqliteIngestLog.OpenAsync(_database))
        {
        }

        var when = new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
        var at = when.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        await ExecuteAsync(
            $"INSERT INTO apex_events (track_id, event_id, track_seq, kind, count, ts) VALUES ('a', 'old1', 1, 0, 5, '{at}'), ('a', 'old2', 2, 1, 1, '{at}');" +
            "UPDATE apex_tracks SET last_seq = 2, streams = 5, likes = 1 WHERE track_id = 'a';");

        await using var reopened = await SqliteIngestLog.OpenAsync(_database);

        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM apex_events"));
        Assert.Equal([1L, 2L], (await reopened.ReadAfterAsync("a", 0)).Select(e => e.TrackSeq));
        var retry = await reopened.AppendAsync([new("old1", "a", EventKind.Stream, 5, when), Stream("old2", "a"), Stream("new", "a")]);
        Assert.Equal([IngestOutcome.Duplicate, IngestOutcome.Conflict, IngestOutcome.Accepted], retry.Outcomes);
        Assert.Equal(new TrackTotals("a", "suno", 3, 6, 1, DateTimeOffset.UnixEpoch), await reopened.ReadTotalsAsync("a"));
    }

    [Fact]
    public void An_event_kind_the_logs_do_not_count_throws_instead_of_counting_as_another()
    {
        var totals = new TrackTotals("a", "suno", 0, 0, 0, DateTimeOffset.UnixEpoch);

        Assert.Equal(totals with { LastSeq = 1, Likes = 2 }, BatchClassifier.Advance(totals, EventKind.Like, 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchClassifier.Advance(totals, (EventKind)7, 1, 1));
    }

    [Fact]
    public void A_packed_batch_reads_back_as_written()
    {
        List<StoredEvent> events = [new("t", "e", 1, EventKind.Stream, 3, 42), new("ü-track", "", long.MaxValue, EventKind.Like, 0, DateTimeOffset.MaxValue.UtcTicks)];

        Assert.Equal(events, PackedEvents.Unpack(PackedEvents.Pack(events)));
        Assert.Throws<InvalidDataException>(() => PackedEvents.Unpack([9, 0]));
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_database}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_database}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
