using System.Buffers;
using System.Text;
using System.Text.Json;
using Apex.Grains.Events;
using Apex.Grains.Timelines;
using Microsoft.Data.Sqlite;

namespace Apex.Grains.Ingest;

/// <summary>
/// The durable ingest log on SQLite (local profile, one writer). The durable unit is the batch: a commit
/// appends one row to <c>apex_batches</c> holding every event it accepted, packed
/// (<see cref="PackedEvents"/>), and a batch is acknowledged only after that commit is synced. Batches that
/// arrive while a commit runs are committed together in the next one (group commit).
/// Deduplication runs against the dedup window in memory (<see cref="DedupIndex"/>), rebuilt from the
/// logged batches at start: an event id already logged for its track is a duplicate when its payload is
/// the logged one's and a conflict otherwise (<see cref="ResentEvents"/>, <see cref="BatchClassifier"/>).
/// Each track's accepted events are numbered 1, 2, 3, … and every logged event carries its number.
/// Each track's totals live in memory and are written to <c>apex_tracks</c> at most a second later (a
/// checkpoint; before any read of many tracks); at start, every logged event numbered after its track's
/// checkpointed total is counted again, so the totals always equal the sum of the accepted events.
/// The dedup window per track is its last <see cref="DedupWindow"/> events (<see cref="CompactAsync"/>
/// drops older ones); a retry older than that would count twice.
/// </summary>
public sealed class SqliteIngestLog : IIngestLog
{
    public const int DedupWindow = 100_000;

    private static readonly TimeSpan CheckpointEvery = TimeSpan.FromSeconds(1);

    private readonly string _connectionString;

    // Every track touched since start, newest totals first; the ones in _dirty are newer than apex_tracks.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TrackTotals> _totals = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly DedupIndex _index = new();

    // Accepted events not yet summed into apex_timeline: those of the batches after its cursor.
    private readonly List<StoredEvent> _unrolled = [];
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly GroupCommitter _committer;
    private readonly string _path;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _checkpoints;
    private Storage.StoreFileGuard? _file;
    private SqliteConnection? _connection;
    private SqliteCommand? _lookup;

    public IngestMetrics? Metrics { get; set; }

    public TimelineRetention Retention { get; set; } = TimelineRetention.Default;

    /// <summary>Events in the dedup window, as of the last commit.</summary>
    public int WindowEvents => _index.Count;

    private SqliteIngestLog(string databasePath)
    {
        _path = databasePath;
        _connectionString = Storage.SqliteGrainStorage.ConnectionString(databasePath);
        _committer = new GroupCommitter(CommitExclusiveAsync, (duration, batches) => Metrics?.RecordCommit(duration, batches));
    }

    /// <summary>The log in <paramref name="databasePath"/>, without I/O: <see cref="PrepareAsync"/> runs before its first use.</summary>
    public static SqliteIngestLog Create(string databasePath) => new(databasePath);

    /// <summary>Applies the schema (creating the file when missing) and prepares the log: for tools that open it on their own.</summary>
    public static async Task<SqliteIngestLog> OpenAsync(string databasePath, CancellationToken cancellationToken = default)
    {
        await Storage.SqliteSchema.ApplyAsync(Storage.SqliteGrainStorage.ConnectionString(databasePath), Storage.LocalStores.Ingest, cancellationToken);
        var log = Create(databasePath);
        await log.PrepareAsync(cancellationToken);
        return log;
    }

    /// <summary>
    /// Guards the file as it is now (it must exist): from here on, a deleted or replaced file acknowledges
    /// nothing. Then rebuilds the dedup window and the totals from the logged batches.
    /// </summary>
    public async Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        if (_file is not null)
        {
            return;
        }

        _file = Storage.StoreFileGuard.Open(_path);
        await _writer.WaitAsync(cancellationToken);
        try
        {
            var connection = await ConnectionAsync(cancellationToken);
            await MoveRowEventsIntoBatchesAsync(connection, cancellationToken);
            long rolledThrough;
            await using (var cursor = connection.CreateCommand())
            {
                cursor.CommandText = "SELECT rolled_through FROM apex_timeline_cursor";
                rolledThrough = (long)(await cursor.ExecuteScalarAsync(cancellationToken))!;
            }

            await using var batches = connection.CreateCommand();
            batches.CommandText = "SELECT seq, events FROM apex_batches ORDER BY seq";
            await using (var reader = await batches.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    var unrolled = reader.GetInt64(0) > rolledThrough;
                    foreach (var e in PackedEvents.Unpack((byte[])reader.GetValue(1)))
                    {
                        _index.Add(e.TrackId, e.EventId, e.Payload);
                        if (unrolled)
                        {
                            _unrolled.Add(e);
                        }

                        if (await TotalsAsync(e.TrackId, cancellationToken) is { } totals && e.TrackSeq > totals.LastSeq)
                        {
                            // Logged after the track's last checkpoint: counted again.
                            _totals[e.TrackId] = BatchClassifier.Advance(totals, e.Kind, e.Count, e.TrackSeq);
                            _dirty.Add(e.TrackId);
                        }
                    }
                }
            }

            await CheckpointAsync(connection, cancellationToken);
        }
        finally
        {
            _writer.Release();
        }

        _checkpoints = Task.Run(CheckpointLoopAsync, CancellationToken.None);
    }

    private Storage.StoreFileGuard Guard => _file ?? throw new InvalidOperationException("The ingest log is used before PrepareAsync.");

    /// <summary>Makes a track known to the log, so that its events are accepted. Idempotent.</summary>
    public async Task RegisterTrackAsync(string trackId, string platform, DateTimeOffset createdAt, CancellationToken cancellationToken = default)
    {
        await _writer.WaitAsync(cancellationToken);
        try
        {
            var connection = await ConnectionAsync(cancellationToken);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using var command = Command(connection, transaction,
                "INSERT OR IGNORE INTO apex_platforms (platform) VALUES ($platform); INSERT OR IGNORE INTO apex_tracks (track_id, platform, created_at) VALUES ($id, $platform, $created)",
                "$id", "$platform", "$created");
            command.Parameters["$id"].Value = trackId;
            command.Parameters["$platform"].Value = platform;
            command.Parameters["$created"].Value = createdAt.ToUnixTimeMilliseconds();
            await command.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            Guard.ThrowIfLost();
        }
        finally
        {
            _writer.Release();
        }
    }

    public async Task<CatalogueResult> RegisterCatalogueAsync(IReadOnlyList<CatalogueEntry> entries, DateTimeOffset registeredAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        await _writer.WaitAsync(cancellationToken);
        try
        {
            Guard.ThrowIfLost();
            var connection = await ConnectionAsync(cancellationToken);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using (var platforms = Command(connection, transaction, "INSERT OR IGNORE INTO apex_platforms (platform) VALUES ($platform)", "$platform"))
            {
                foreach (var platform in entries.Select(e => e.Registration.Platform).Distinct(StringComparer.Ordinal))
                {
                    platforms.Parameters["$platform"].Value = platform;
                    await platforms.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            // A repeated id within the call meets the first: only first occurrences are written.
            var first = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < entries.Count; i++)
            {
                first.TryAdd(entries[i].TrackId, i);
            }

            var unique = first.Values.Order().Select(i => (Index: i, Numbered: entries[i].Numbered())).ToList();

            // One statement per table for the whole call, its rows in one JSON array read by json_each:
            // bound row by row, Microsoft.Data.Sqlite looks each parameter up by name, about half the
            // insert time. A new track's totals are written as of its counts, so the checkpointed totals
            // and the logged events agree from the start; the tracks that were new come back.
            var createdIds = new HashSet<string>(StringComparer.Ordinal);
            await using (var tracks = Command(connection, transaction,
                "INSERT OR IGNORE INTO apex_tracks (track_id, platform, created_at, last_seq, streams, likes) " +
                "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each($rows) RETURNING track_id", "$rows"))
            {
                tracks.Parameters["$rows"].Value = JsonRows(unique, (w, u) =>
                {
                    var registration = entries[u.Index].Registration;
                    w.WriteStringValue(u.Numbered.Totals.TrackId);
                    w.WriteStringValue(registration.Platform);
                    w.WriteNumberValue(registration.CreatedAt.ToUnixTimeMilliseconds());
                    w.WriteNumberValue(u.Numbered.Totals.LastSeq);
                    w.WriteNumberValue(u.Numbered.Totals.Streams);
                    w.WriteNumberValue(u.Numbered.Totals.Likes);
                });
                await using var reader = await tracks.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    createdIds.Add(reader.GetString(0));
                }
            }

            var fresh = unique.Where(u => createdIds.Contains(u.Numbered.Totals.TrackId)).ToList();
            await using (var catalogue = Command(connection, transaction,
                "INSERT INTO apex_catalogue (track_id, registration, registered_at, backfill_seq) " +
                "SELECT value ->> 0, value -> 1, $at, (SELECT COALESCE(MAX(backfill_seq), 0) FROM apex_catalogue) + key + 1 FROM json_each($rows)", "$rows", "$at"))
            {
                // The registration goes in as a JSON object (stored as its text), not a string to escape.
                catalogue.Parameters["$rows"].Value = JsonRows(fresh, (w, u) =>
                {
                    w.WriteStringValue(u.Numbered.Totals.TrackId);
                    CatalogueEntry.Write(w, entries[u.Index].Registration);
                });
                catalogue.Parameters["$at"].Value = registeredAt.ToUnixTimeMilliseconds();
                await catalogue.ExecuteNonQueryAsync(cancellationToken);
            }

            // The rest were known before: compared with the whole registration (bulk) or with the part
            // the log holds (registered one by one).
            var outcomes = new CatalogueOutcome[entries.Count];
            await using var catalogued = Command(connection, transaction, "SELECT registration FROM apex_catalogue WHERE track_id = $id", "$id");
            await using var known = Command(connection, transaction, "SELECT platform, created_at FROM apex_tracks WHERE track_id = $id", "$id");
            foreach (var (i, numbered) in unique)
            {
                var (id, registration) = entries[i];
                if (createdIds.Contains(id))
                {
                    outcomes[i] = CatalogueOutcome.Created;
                    continue;
                }

                catalogued.Parameters["$id"].Value = id;
                if (await catalogued.ExecuteScalarAsync(cancellationToken) is string stored)
                {
                    outcomes[i] = CatalogueEntry.Read(stored) == registration ? CatalogueOutcome.Same : CatalogueOutcome.Conflict;
                    continue;
                }

                known.Parameters["$id"].Value = id;
                await using var reader = await known.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                var same = reader.GetString(0) == registration.Platform && reader.GetInt64(1) == registration.CreatedAt.ToUnixTimeMilliseconds();
                outcomes[i] = same ? CatalogueOutcome.Same : CatalogueOutcome.Conflict;
            }

            for (var i = 0; i < entries.Count; i++)
            {
                var firstIndex = first[entries[i].TrackId];
                if (i != firstIndex)
                {
                    outcomes[i] = entries[i].Registration == entries[firstIndex].Registration && outcomes[firstIndex] != CatalogueOutcome.Conflict
                        ? CatalogueOutcome.Same
                        : CatalogueOutcome.Conflict;
                }
            }

            var initial = fresh.SelectMany(u => u.Numbered.Events).ToList();
            var created = fresh.Select(u => u.Numbered.Totals).ToList();
            if (initial.Count > 0)
            {
                await using var append = Command(connection, transaction, "INSERT INTO apex_batches (events) VALUES ($events)", "$events");
                append.Parameters["$events"].Value = PackedEvents.Pack(initial);
                await append.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            Guard.ThrowIfLost();
            foreach (var (e, _) in initial)
            {
                _index.Add(e.TrackId, e.EventId, LoggedPayload.Of(e));
            }

            return new CatalogueResult(outcomes, created);
        }
        finally
        {
            _writer.Release();
        }
    }

    public async Task<IReadOnlyList<BackfillItem>> ReadBackfillAsync(long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT backfill_seq, track_id FROM apex_catalogue WHERE backfill_seq > $after ORDER BY backfill_seq LIMIT $limit";
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$limit", limit);
        var items = new List<BackfillItem>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new BackfillItem(reader.GetInt64(0), reader.GetString(1)));
        }

        return items;
    }

    public Task<BackfillDepth> CountBackfillAsync(long afterSeq, CancellationToken cancellationToken = default) =>
        AggregateAsync("SELECT count(*), min(registered_at) FROM apex_catalogue WHERE backfill_seq > $key", afterSeq,
            r => new BackfillDepth(r.GetInt64(0), r.IsDBNull(1) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1))), cancellationToken);

    /// <summary>An aggregate query's one row, on a connection of its own (reads do not wait for the writer).</summary>
    private async Task<T> AggregateAsync<T>(string sql, object key, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return read(reader);
    }

    public async Task<CatalogueRecord?> ReadCatalogueAsync(string trackId, CancellationToken cancellationToken = default)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT registration, registered_at FROM apex_catalogue WHERE track_id = $id";
        command.Parameters.AddWithValue("$id", trackId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new CatalogueRecord(trackId, CatalogueEntry.Read(reader.GetString(0)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)))
            : null;
    }

    /// <summary>Logs a batch durably; returns when it is committed.</summary>
    public Task<IngestResult> AppendAsync(IReadOnlyList<EngagementEvent> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return _committer.SubmitAsync(batch, this, cancellationToken);
    }

    /// <summary>A track's logged events after <paramref name="afterSeq"/>, in order (an audit: it reads every logged batch).</summary>
    public async Task<IReadOnlyList<LoggedEvent>> ReadAfterAsync(string trackId, long afterSeq, CancellationToken cancellationToken = default)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT events FROM apex_batches ORDER BY seq";
        var events = new List<LoggedEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.AddRange(PackedEvents.Unpack((byte[])reader.GetValue(0))
                .Where(e => e.TrackId == trackId && e.TrackSeq > afterSeq)
                .Select(e => new LoggedEvent(trackId, e.TrackSeq, e.Kind, e.Count)));
        }

        events.Sort((a, b) => a.TrackSeq.CompareTo(b.TrackSeq));
        return events;
    }

    /// <summary>A track's totals: from memory when it changed since start, else as checkpointed.</summary>
    public async Task<TrackTotals?> ReadTotalsAsync(string trackId, CancellationToken cancellationToken = default) =>
        _totals.TryGetValue(trackId, out var totals)
            ? totals
            : (await ReadTotalsWhereAsync("track_id = $key", trackId, cancellationToken)).SingleOrDefault();

    public async Task PingAsync(CancellationToken cancellationToken = default)
    {
        Guard.ThrowIfLost();
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM (SELECT 1 FROM apex_tracks LIMIT 1)";
        await command.ExecuteScalarAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListPlatformsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT platform FROM apex_platforms ORDER BY platform";
        var platforms = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            platforms.Add(reader.GetString(0));
        }

        return platforms;
    }

    public async Task<IReadOnlyList<TrackTotals>> ReadPlatformTotalsAsync(string platform, CancellationToken cancellationToken = default)
    {
        await CheckpointAsync(cancellationToken);
        return await ReadTotalsWhereAsync("platform = $key", platform, cancellationToken);
    }

    private async Task<List<TrackTotals>> ReadTotalsWhereAsync(string where, string key, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT track_id, platform, last_seq, streams, likes, created_at FROM apex_tracks WHERE {where}";
        command.Parameters.AddWithValue("$key", key);
        var totals = new List<TrackTotals>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            totals.Add(new TrackTotals(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
        }

        return totals;
    }

    /// <summary>
    /// Drops each track's events older than its last <paramref name="window"/> from the logged batches and
    /// the dedup window (the totals already hold them): a batch left with none is deleted, one left with
    /// some is rewritten with those. Returns the events dropped.
    /// </summary>
    public async Task<int> CompactAsync(long window = DedupWindow, CancellationToken cancellationToken = default)
    {
        await _writer.WaitAsync(cancellationToken);
        try
        {
            var connection = await ConnectionAsync(cancellationToken);
            // The curves take every batch before any is rewritten, and lose the buckets past their window.
            await CheckpointAsync(connection, cancellationToken);
            await using (var prune = Command(connection, null, "DELETE FROM apex_timeline WHERE (width = $hour AND start < $hourly) OR (width = $day AND start < $daily)", "$hour", "$hourly", "$day", "$daily"))
            {
                var now = DateTimeOffset.UtcNow;
                prune.Parameters["$hour"].Value = (int)BucketWidth.Hour;
                prune.Parameters["$hourly"].Value = Retention.FirstKept(BucketWidth.Hour, now);
                prune.Parameters["$day"].Value = (int)BucketWidth.Day;
                prune.Parameters["$daily"].Value = Retention.FirstKept(BucketWidth.Day, now);
                await prune.ExecuteNonQueryAsync(cancellationToken);
            }

            var rewrites = new List<(long Seq, List<StoredEvent> Kept, List<StoredEvent> Dropped)>();
            await using (var batches = connection.CreateCommand())
            {
                batches.CommandText = "SELECT seq, events FROM apex_batches ORDER BY seq";
                await using var reader = await batches.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var kept = new List<StoredEvent>();
                    var dropped = new List<StoredEvent>();
                    foreach (var e in PackedEvents.Unpack((byte[])reader.GetValue(1)))
                    {
                        var last = (await TotalsAsync(e.TrackId, cancellationToken))?.LastSeq ?? long.MaxValue;
                        (e.TrackSeq <= last - window ? dropped : kept).Add(e);
                    }

                    if (dropped.Count > 0)
                    {
                        rewrites.Add((reader.GetInt64(0), kept, dropped));
                    }
                }
            }

            await using (var transaction = connection.BeginTransaction())
            {
                await using var delete = Command(connection, transaction, "DELETE FROM apex_batches WHERE seq = $seq", "$seq");
                await using var update = Command(connection, transaction, "UPDATE apex_batches SET events = $events WHERE seq = $seq", "$events", "$seq");
                foreach (var (seq, kept, _) in rewrites)
                {
                    var command = kept.Count == 0 ? delete : update;
                    command.Parameters["$seq"].Value = seq;
                    if (kept.Count > 0)
                    {
                        update.Parameters["$events"].Value = PackedEvents.Pack(kept);
                    }

                    await command.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
            }

            foreach (var e in rewrites.SelectMany(r => r.Dropped))
            {
                _index.Remove(e.TrackId, e.EventId);
            }

            return rewrites.Sum(r => r.Dropped.Count);
        }
        finally
        {
            _writer.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _committer.DisposeAsync();
        await _stopping.CancelAsync();
        if (_checkpoints is not null)
        {
            await _checkpoints;
            try
            {
                await CheckpointAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is SqliteException or IOException)
            {
                // Not lost: the next start counts the batches after the last checkpoint again.
            }
        }

        if (_lookup is not null)
        {
            await _lookup.DisposeAsync();
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _file?.Dispose();
        _writer.Dispose();
        _stopping.Dispose();
    }

    private async Task<SqliteConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        if (_connection is null)
        {
            _connection = new SqliteConnection(_connectionString);
            await _connection.OpenAsync(cancellationToken);
            await using var pragma = _connection.CreateCommand();
            // Acknowledged means on disk: every commit is synced (WAL keeps that cheap, group commit rarer).
            pragma.CommandText = "PRAGMA synchronous=FULL;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            // Prepared once: every commit looks up the tracks it has not seen yet.
            _lookup = Command(_connection, null, "SELECT platform, last_seq, streams, likes, created_at FROM apex_tracks WHERE track_id = $track", "$track");
        }

        return _connection;
    }

    /// <summary>A group commit, holding the connection against registrations, checkpoints and compaction.</summary>
    private async Task<IngestResult[]> CommitExclusiveAsync(IReadOnlyList<IReadOnlyList<EngagementEvent>> group)
    {
        await _writer.WaitAsync();
        try
        {
            return await CommitAsync(group);
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Classifies the group, appends its accepted events as one row, and only once that is synced updates memory.</summary>
    private async Task<IngestResult[]> CommitAsync(IReadOnlyList<IReadOnlyList<EngagementEvent>> group)
    {
        Guard.ThrowIfLost();
        var connection = await ConnectionAsync(CancellationToken.None);
        var unknown = new HashSet<string>(StringComparer.Ordinal);
        foreach (var track in group.SelectMany(b => b).Select(e => e.TrackId).Distinct(StringComparer.Ordinal))
        {
            if (await TotalsAsync(track, CancellationToken.None) is null)
            {
                unknown.Add(track);
            }
        }

        var classified = BatchClassifier.Classify(
            group,
            track => unknown.Contains(track) ? null : _totals[track],
            e => _index.Find(e.TrackId, e.EventId));
        if (classified.Accepted.Count > 0)
        {
            await using var append = connection.CreateCommand();
            append.CommandText = "INSERT INTO apex_batches (events) VALUES ($events)";
            append.Parameters.AddWithValue("$events", PackedEvents.Pack(classified.Accepted));
            await append.ExecuteNonQueryAsync(); // one statement, one synced commit
        }

        // Committed into a file that is gone is not durable: not acknowledged (the caller answers 503).
        Guard.ThrowIfLost();
        foreach (var (e, seq) in classified.Accepted)
        {
            _index.Add(e.TrackId, e.EventId, LoggedPayload.Of(e));
            _unrolled.Add(new StoredEvent(e.TrackId, e.EventId, seq, e.Kind, e.Count, e.Timestamp.UtcTicks));
        }

        foreach (var (track, totals) in classified.Changed)
        {
            _totals[track] = totals;
            _dirty.Add(track);
        }

        return classified.Results;
    }

    /// <summary>A track's totals, read once from apex_tracks into memory; null for a track never registered (the writer is held).</summary>
    private async Task<TrackTotals?> TotalsAsync(string trackId, CancellationToken cancellationToken)
    {
        if (_totals.TryGetValue(trackId, out var cached))
        {
            return cached;
        }

        var lookup = _lookup ?? throw new InvalidOperationException("The ingest log's connection is not open.");
        lookup.Parameters["$track"].Value = trackId;
        await using var reader = await lookup.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return _totals[trackId] = new TrackTotals(trackId, reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));
    }

    private async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken);
        try
        {
            await CheckpointAsync(await ConnectionAsync(cancellationToken), cancellationToken);
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Writes the totals that changed since the last checkpoint to apex_tracks, in one transaction (the writer is held).</summary>
    private async Task CheckpointAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        if (_dirty.Count == 0 && _unrolled.Count == 0)
        {
            return;
        }

        await using var transaction = connection.BeginTransaction();
        if (_unrolled.Count > 0)
        {
            // The curves move with the totals: the batches since the cursor summed in, and the cursor moved past them, in one commit.
            await using var roll = Command(connection, transaction,
                "INSERT INTO apex_timeline (track_id, width, start, streams, likes) " +
                "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each($rows) WHERE true " +
                "ON CONFLICT (track_id, width, start) DO UPDATE SET streams = streams + excluded.streams, likes = likes + excluded.likes;" +
                "UPDATE apex_timeline_cursor SET rolled_through = (SELECT COALESCE(MAX(seq), 0) FROM apex_batches)", "$rows");
            roll.Parameters["$rows"].Value = JsonRows(TimelineRollup.Sum(_unrolled, DateTimeOffset.UtcNow, Retention), (w, b) =>
            {
                w.WriteStringValue(b.Key.TrackId);
                w.WriteNumberValue((int)b.Key.Width);
                w.WriteNumberValue(b.Key.Start);
                w.WriteNumberValue(b.Value.Streams);
                w.WriteNumberValue(b.Value.Likes);
            });
            await roll.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var advance = Command(connection, transaction, "UPDATE apex_tracks SET last_seq = $seq, streams = $streams, likes = $likes WHERE track_id = $track", "$seq", "$streams", "$likes", "$track");
        foreach (var track in _dirty)
        {
            var totals = _totals[track];
            advance.Parameters["$seq"].Value = totals.LastSeq;
            advance.Parameters["$streams"].Value = totals.Streams;
            advance.Parameters["$likes"].Value = totals.Likes;
            advance.Parameters["$track"].Value = track;
            await advance.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        _dirty.Clear();
        _unrolled.Clear();
    }

    public async Task<IReadOnlyList<TrackPoint>> ReadHourlyAsync(IReadOnlyCollection<string> trackIds, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trackIds);
        await CheckpointAsync(cancellationToken);
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT t.track_id, t.start, t.streams, t.likes FROM json_each($ids) AS j JOIN apex_timeline AS t ON t.track_id = j.value AND t.width = $width AND t.start >= $since",
            "$ids", "$width", "$since");
        command.Parameters["$ids"].Value = JsonSerializer.Serialize(trackIds);
        command.Parameters["$width"].Value = (int)BucketWidth.Hour;
        command.Parameters["$since"].Value = since.ToUnixTimeSeconds();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await TimelineRows.ReadTrackPointsAsync(reader, cancellationToken);
    }

    public async Task<IReadOnlyList<TimelinePoint>> ReadTimelineAsync(string trackId, BucketWidth width, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        await CheckpointAsync(cancellationToken);
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT start, streams, likes FROM apex_timeline WHERE track_id = $track AND width = $width AND start >= $from AND start < $to ORDER BY start", "$track", "$width", "$from", "$to");
        command.Parameters["$track"].Value = trackId;
        command.Parameters["$width"].Value = (int)width;
        command.Parameters["$from"].Value = since.ToUnixTimeSeconds();
        command.Parameters["$to"].Value = until.ToUnixTimeSeconds();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await TimelineRows.ReadPointsAsync(reader, cancellationToken);
    }

    private async Task CheckpointLoopAsync()
    {
        using var timer = new PeriodicTimer(CheckpointEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                try
                {
                    await CheckpointAsync(_stopping.Token);
                }
                catch (Exception ex) when (ex is SqliteException or IOException or InvalidOperationException)
                {
                    // Tried again at the next tick; until then the batches hold what the totals lack.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// A log written when every event was a row of apex_events: its rows become one logged batch, so the
    /// dedup window and the per-track numbers carry over (the totals already count them).
    /// </summary>
    private static async Task MoveRowEventsIntoBatchesAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        var events = new List<StoredEvent>();
        await using (var rows = connection.CreateCommand())
        {
            rows.CommandText = "SELECT track_id, event_id, track_seq, kind, count, ts FROM apex_events";
            await using var reader = await rows.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var at = DateTimeOffset.Parse(reader.GetString(5), System.Globalization.CultureInfo.InvariantCulture);
                events.Add(new StoredEvent(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), (EventKind)reader.GetInt32(3), reader.GetInt64(4), at.UtcTicks));
            }
        }

        if (events.Count == 0)
        {
            return;
        }

        await using var transaction = connection.BeginTransaction();
        await using (var append = connection.CreateCommand())
        {
            append.Transaction = transaction;
            append.CommandText = "INSERT INTO apex_batches (events) VALUES ($events)";
            append.Parameters.AddWithValue("$events", PackedEvents.Pack(events));
            await append.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var clear = connection.CreateCommand())
        {
            clear.Transaction = transaction;
            clear.CommandText = "DELETE FROM apex_events";
            await clear.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Rows as one JSON array of arrays (what json_each reads back in SQL).</summary>
    private static string JsonRows<T>(IEnumerable<T> rows, Action<Utf8JsonWriter, T> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var row in rows)
            {
                writer.WriteStartArray();
                write(writer, row);
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        command.Prepare();
        return command;
    }
}
