using Apex.Grains.Events;
using Microsoft.Data.Sqlite;

namespace Apex.Grains.Ingest;

/// <summary>
/// The durable ingest log on SQLite. A batch is acknowledged only after its transaction commits;
/// batches that arrive while a transaction runs are committed together in the next one (group
/// commit), so one fsync serves many requests. Deduplication happens inside the same transaction:
/// an event id already logged for its track is not logged again; it is a duplicate when its payload
/// is the logged one's and a conflict otherwise (<see cref="ResentEvents"/>).
/// Each track's accepted events are numbered 1, 2, 3, … so a reader can tell when it missed one.
/// The events table has one index, its key (track, event id), which deduplication needs: a second
/// index on (track, number) cost a third of the ingest rate, and the reads by number (audits,
/// compaction) are rare and bounded by the dedup window.
/// Each track's totals are updated in the same transaction, so they always equal the sum of its
/// accepted events. The dedup window per track is its last <see cref="DedupWindow"/> events (older rows
/// are dropped by <see cref="CompactAsync"/>); a retry older than that would count twice.
/// </summary>
public sealed class SqliteIngestLog : IIngestLog
{
    public const int DedupWindow = 100_000;

    private readonly string _connectionString;
    private readonly Dictionary<string, TrackTotals> _totals = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly GroupCommitter _committer;
    private readonly string _path;
    private Storage.StoreFileGuard? _file;
    private SqliteConnection? _connection;

    public IngestMetrics? Metrics { get; set; }

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

    /// <summary>Guards the file as it is now (it must exist): from here on, a deleted or replaced file acknowledges nothing.</summary>
    public Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        _file ??= Storage.StoreFileGuard.Open(_path);
        return Task.CompletedTask;
    }

    private Storage.StoreFileGuard Guard => _file ?? throw new InvalidOperationException("The ingest log is used before PrepareAsync.");

    /// <summary>Makes a track known to the log, so that its events are accepted. Idempotent.</summary>
    public async Task RegisterTrackAsync(string trackId, string platform, DateTimeOffset createdAt, CancellationToken cancellationToken = default)
    {
        await _writer.WaitAsync(cancellationToken);
        try
        {
            var connection = await ConnectionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT OR IGNORE INTO apex_tracks (track_id, platform, created_at) VALUES ($id, $platform, $created)";
            command.Parameters.AddWithValue("$id", trackId);
            command.Parameters.AddWithValue("$platform", platform);
            command.Parameters.AddWithValue("$created", createdAt.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken);
            Guard.ThrowIfLost();
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Logs a batch durably; returns when it is committed.</summary>
    public Task<IngestResult> AppendAsync(IReadOnlyList<EngagementEvent> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return _committer.SubmitAsync(batch, this, cancellationToken);
    }

    /// <summary>A track's logged events after <paramref name="afterSeq"/>, in order.</summary>
    public async Task<IReadOnlyList<LoggedEvent>> ReadAfterAsync(string trackId, long afterSeq, CancellationToken cancellationToken = default)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT track_seq, kind, count FROM apex_events WHERE track_id = $id AND track_seq > $after ORDER BY track_seq";
        command.Parameters.AddWithValue("$id", trackId);
        command.Parameters.AddWithValue("$after", afterSeq);
        var events = new List<LoggedEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new LoggedEvent(trackId, reader.GetInt64(0), (EventKind)reader.GetInt32(1), reader.GetInt64(2)));
        }

        return events;
    }

    public async Task<TrackTotals?> ReadTotalsAsync(string trackId, CancellationToken cancellationToken = default) =>
        (await ReadTotalsWhereAsync("track_id = $key", trackId, cancellationToken)).SingleOrDefault();

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
        command.CommandText = "SELECT DISTINCT platform FROM apex_tracks ORDER BY platform";
        var platforms = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            platforms.Add(reader.GetString(0));
        }

        return platforms;
    }

    public async Task<IReadOnlyList<TrackTotals>> ReadPlatformTotalsAsync(string platform, CancellationToken cancellationToken = default) =>
        await ReadTotalsWhereAsync("platform = $key", platform, cancellationToken);

    public async Task<IReadOnlyList<TrackListing>> ListTracksAsync(string platform, TrackSort sort, int limit, CancellationToken cancellationToken = default)
    {
        var order = sort switch
        {
            TrackSort.Streams => "streams DESC",
            TrackSort.Likes => "likes DESC",
            _ => "created_at DESC",
        };
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT track_id, created_at, streams, likes FROM apex_tracks WHERE platform = $platform ORDER BY {order}, track_id LIMIT $limit";
        command.Parameters.AddWithValue("$platform", platform);
        command.Parameters.AddWithValue("$limit", limit);
        var tracks = new List<TrackListing>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            tracks.Add(new TrackListing(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetInt64(2), reader.GetInt64(3)));
        }

        return tracks;
    }

    private async Task<List<TrackTotals>> ReadTotalsWhereAsync(string where, string key, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT track_id, platform, last_seq, streams, likes FROM apex_tracks WHERE {where}";
        command.Parameters.AddWithValue("$key", key);
        var totals = new List<TrackTotals>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            totals.Add(new TrackTotals(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));
        }

        return totals;
    }

    public async Task<int> CompactAsync(long window = DedupWindow, CancellationToken cancellationToken = default)
    {
        await _writer.WaitAsync(cancellationToken);
        try
        {
            var connection = await ConnectionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM apex_events WHERE track_seq <= (SELECT t.last_seq FROM apex_tracks t WHERE t.track_id = apex_events.track_id) - $window";
            command.Parameters.AddWithValue("$window", window);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _writer.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _committer.DisposeAsync();
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _file?.Dispose();
        _writer.Dispose();
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
        }

        return _connection;
    }

    /// <summary>A group commit, holding the connection against registrations and compaction.</summary>
    private async Task<IngestResult[]> CommitExclusiveAsync(IReadOnlyList<IReadOnlyList<EngagementEvent>> group)
    {
        await _writer.WaitAsync();
        try
        {
            return await CommitAsync(group);
        }
        catch
        {
            _totals.Clear(); // the cache may hold numbers of the rolled-back transaction
            throw;
        }
        finally
        {
            _writer.Release();
        }
    }

    private async Task<IngestResult[]> CommitAsync(IReadOnlyList<IReadOnlyList<EngagementEvent>> group)
    {
        var connection = await ConnectionAsync(CancellationToken.None);
        await using var transaction = connection.BeginTransaction();
        await using var known = Command(connection, transaction, "SELECT platform, last_seq, streams, likes FROM apex_tracks WHERE track_id = $track", "$track");
        await using var insert = Command(connection, transaction, "INSERT OR IGNORE INTO apex_events (track_id, event_id, track_seq, kind, count, ts) VALUES ($track, $event, $seq, $kind, $count, $ts)", "$track", "$event", "$seq", "$kind", "$count", "$ts");
        await using var advance = Command(connection, transaction, "UPDATE apex_tracks SET last_seq = $seq, streams = $streams, likes = $likes WHERE track_id = $track", "$seq", "$streams", "$likes", "$track");
        await using var logged = Command(connection, transaction, "SELECT kind, count, ts FROM apex_events WHERE track_id = $track AND event_id = $event", "$track", "$event");
        var touched = new HashSet<string>(StringComparer.Ordinal);
        var touchedPerBatch = new List<HashSet<string>>();
        var outcomesPerBatch = new List<(IngestOutcome[] Outcomes, List<LoggedEvent> Accepted)>();
        foreach (var events in group)
        {
            var outcomes = new IngestOutcome[events.Count];
            var accepted = new List<LoggedEvent>();
            var mine = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < outcomes.Length; i++)
            {
                var e = events[i];
                if (!_totals.TryGetValue(e.TrackId, out var totals))
                {
                    known.Parameters["$track"].Value = e.TrackId;
                    await using var reader = await known.ExecuteReaderAsync();
                    if (!await reader.ReadAsync())
                    {
                        outcomes[i] = IngestOutcome.UnknownTrack;
                        continue;
                    }

                    _totals[e.TrackId] = totals = new TrackTotals(e.TrackId, reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
                }

                var seq = totals.LastSeq + 1;
                insert.Parameters["$track"].Value = e.TrackId;
                insert.Parameters["$event"].Value = e.EventId;
                insert.Parameters["$seq"].Value = seq;
                insert.Parameters["$kind"].Value = (int)e.Kind;
                insert.Parameters["$count"].Value = e.Count;
                insert.Parameters["$ts"].Value = e.Timestamp.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
                if (await insert.ExecuteNonQueryAsync() == 1)
                {
                    _totals[e.TrackId] = e.Kind == EventKind.Stream
                        ? totals with { LastSeq = seq, Streams = totals.Streams + e.Count }
                        : totals with { LastSeq = seq, Likes = totals.Likes + e.Count };
                    touched.Add(e.TrackId);
                    mine.Add(e.TrackId);
                    outcomes[i] = IngestOutcome.Accepted;
                    accepted.Add(new LoggedEvent(e.TrackId, seq, e.Kind, e.Count));
                }
                else
                {
                    // A duplicate's track is reported too: a client retrying after a failed hand-off
                    // then brings the population the totals it missed.
                    mine.Add(e.TrackId);
                    logged.Parameters["$track"].Value = e.TrackId;
                    logged.Parameters["$event"].Value = e.EventId;
                    await using var reader = await logged.ExecuteReaderAsync();
                    outcomes[i] = await reader.ReadAsync()
                        ? ResentEvents.Classify(e, (EventKind)reader.GetInt32(0), reader.GetInt64(1), DateTimeOffset.Parse(reader.GetString(2), System.Globalization.CultureInfo.InvariantCulture))
                        : IngestOutcome.Duplicate;
                }
            }

            outcomesPerBatch.Add((outcomes, accepted));
            touchedPerBatch.Add(mine);
        }

        foreach (var track in touched)
        {
            var totals = _totals[track];
            advance.Parameters["$seq"].Value = totals.LastSeq;
            advance.Parameters["$streams"].Value = totals.Streams;
            advance.Parameters["$likes"].Value = totals.Likes;
            advance.Parameters["$track"].Value = track;
            await advance.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        // Committed into a file that is gone is not durable: not acknowledged (the caller answers 503).
        Guard.ThrowIfLost();
        return outcomesPerBatch.Select((b, i) => new IngestResult(b.Outcomes, b.Accepted, touchedPerBatch[i].Select(t => _totals[t]).ToList())).ToArray();
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] parameters)
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
