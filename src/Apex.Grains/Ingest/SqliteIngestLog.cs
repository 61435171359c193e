using System.Threading.Channels;
using Apex.Grains.Events;
using Microsoft.Data.Sqlite;

namespace Apex.Grains.Ingest;

/// <summary>
/// The durable ingest log on SQLite. A batch is acknowledged only after its transaction commits;
/// batches that arrive while a transaction runs are committed together in the next one (group
/// commit), so one fsync serves many requests. Deduplication happens inside the same transaction:
/// an event id already logged for its track is a duplicate and is not logged again.
/// Each track's accepted events are numbered 1, 2, 3, … so a reader can tell when it missed one.
/// The dedup window per track is the last <see cref="DedupWindow"/> events (older rows are compacted
/// away after a checkpoint); a retry older than that would count twice.
/// </summary>
public sealed class SqliteIngestLog : IAsyncDisposable
{
    public const int DedupWindow = 100_000;

    private readonly string _connectionString;
    private readonly Channel<PendingBatch> _pending = Channel.CreateUnbounded<PendingBatch>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, long> _lastSeq = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly Task _loop;
    private SqliteConnection? _connection;

    private SqliteIngestLog(string connectionString)
    {
        _connectionString = connectionString;
        _loop = Task.Run(WriteLoopAsync);
    }

    public static async Task<SqliteIngestLog> OpenAsync(string databasePath, CancellationToken cancellationToken = default)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true, DefaultTimeout = 30 }.ToString();
        await using (var connection = new SqliteConnection(connectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS apex_tracks (track_id TEXT NOT NULL PRIMARY KEY, last_seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS apex_events (
                    track_id TEXT NOT NULL, event_id TEXT NOT NULL, track_seq INTEGER NOT NULL,
                    kind INTEGER NOT NULL, count INTEGER NOT NULL, ts TEXT NOT NULL,
                    PRIMARY KEY (track_id, event_id)) WITHOUT ROWID;
                CREATE UNIQUE INDEX IF NOT EXISTS ix_apex_events_seq ON apex_events (track_id, track_seq);
                """;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return new SqliteIngestLog(connectionString);
    }

    /// <summary>Makes a track known to the log, so that its events are accepted. Idempotent.</summary>
    public async Task RegisterTrackAsync(string trackId, CancellationToken cancellationToken = default)
    {
        await _writer.WaitAsync(cancellationToken);
        try
        {
            var connection = await ConnectionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT OR IGNORE INTO apex_tracks (track_id) VALUES ($id)";
            command.Parameters.AddWithValue("$id", trackId);
            await command.ExecuteNonQueryAsync(cancellationToken);
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
        var pending = new PendingBatch(batch, new TaskCompletionSource<IngestResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!_pending.Writer.TryWrite(pending), this);

        return pending.Done.Task.WaitAsync(cancellationToken);
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

    /// <summary>
    /// Drops a track's events that a checkpoint at <paramref name="checkpointSeq"/> covers, keeping the
    /// last <see cref="DedupWindow"/> for deduplication.
    /// </summary>
    public async Task CompactAsync(string trackId, long checkpointSeq, CancellationToken cancellationToken = default)
    {
        await _writer.WaitAsync(cancellationToken);
        try
        {
            var connection = await ConnectionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM apex_events WHERE track_id = $id AND track_seq <= $upto";
            command.Parameters.AddWithValue("$id", trackId);
            command.Parameters.AddWithValue("$upto", checkpointSeq - DedupWindow);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _writer.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _loop;
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

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

    private async Task WriteLoopAsync()
    {
        var group = new List<PendingBatch>();
        while (await _pending.Reader.WaitToReadAsync())
        {
            while (_pending.Reader.TryRead(out var next))
            {
                group.Add(next);
            }

            await _writer.WaitAsync();
            try
            {
                var results = await CommitAsync(group);
                for (var i = 0; i < group.Count; i++)
                {
                    group[i].Done.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                _lastSeq.Clear(); // the cache may hold numbers of the rolled-back transaction
                group.ForEach(p => p.Done.TrySetException(ex));
            }
            finally
            {
                _writer.Release();
                group.Clear();
            }
        }
    }

    private async Task<IngestResult[]> CommitAsync(List<PendingBatch> group)
    {
        var connection = await ConnectionAsync(CancellationToken.None);
        await using var transaction = connection.BeginTransaction();
        await using var known = Command(connection, transaction, "SELECT last_seq FROM apex_tracks WHERE track_id = $track", "$track");
        await using var insert = Command(connection, transaction, "INSERT OR IGNORE INTO apex_events (track_id, event_id, track_seq, kind, count, ts) VALUES ($track, $event, $seq, $kind, $count, $ts)", "$track", "$event", "$seq", "$kind", "$count", "$ts");
        await using var advance = Command(connection, transaction, "UPDATE apex_tracks SET last_seq = $seq WHERE track_id = $track", "$seq", "$track");
        var touched = new HashSet<string>(StringComparer.Ordinal);
        var results = new IngestResult[group.Count];
        for (var b = 0; b < group.Count; b++)
        {
            var outcomes = new IngestOutcome[group[b].Events.Count];
            var accepted = new List<LoggedEvent>();
            for (var i = 0; i < outcomes.Length; i++)
            {
                var e = group[b].Events[i];
                if (!_lastSeq.TryGetValue(e.TrackId, out var last))
                {
                    known.Parameters["$track"].Value = e.TrackId;
                    if (await known.ExecuteScalarAsync() is not long stored)
                    {
                        outcomes[i] = IngestOutcome.UnknownTrack;
                        continue;
                    }

                    _lastSeq[e.TrackId] = last = stored;
                }

                insert.Parameters["$track"].Value = e.TrackId;
                insert.Parameters["$event"].Value = e.EventId;
                insert.Parameters["$seq"].Value = last + 1;
                insert.Parameters["$kind"].Value = (int)e.Kind;
                insert.Parameters["$count"].Value = e.Count;
                insert.Parameters["$ts"].Value = e.Timestamp.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
                if (await insert.ExecuteNonQueryAsync() == 1)
                {
                    _lastSeq[e.TrackId] = last + 1;
                    touched.Add(e.TrackId);
                    outcomes[i] = IngestOutcome.Accepted;
                    accepted.Add(new LoggedEvent(e.TrackId, last + 1, e.Kind, e.Count));
                }
                else
                {
                    outcomes[i] = IngestOutcome.Duplicate;
                }
            }

            results[b] = new IngestResult(outcomes, accepted);
        }

        foreach (var track in touched)
        {
            advance.Parameters["$seq"].Value = _lastSeq[track];
            advance.Parameters["$track"].Value = track;
            await advance.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return results;
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

    private sealed record PendingBatch(IReadOnlyList<EngagementEvent> Events, TaskCompletionSource<IngestResult> Done);
}
