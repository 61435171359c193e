using Apex.Grains.Events;
using Apex.Grains.Timelines;
using Npgsql;
using NpgsqlTypes;

namespace Apex.Grains.Ingest;

/// <summary>
/// The durable ingest log on PostgreSQL (cluster profile), shared by every silo. Each silo commits the
/// batches that arrive while its previous transaction runs in one transaction (group commit). Silos
/// write concurrently, so nothing is cached: a commit locks the rows of the tracks it touches (in key
/// order, so two silos cannot deadlock on them), reads which event ids are already logged, numbers the
/// new events after each track's last number and updates the totals, all before it commits. A lost
/// race on the locks (deadlock or serialization failure) retries the whole group.
/// The dedup window per track is its last <see cref="SqliteIngestLog.DedupWindow"/> events, as on SQLite.
/// </summary>
public sealed class PostgresIngestLog : IIngestLog
{
    private const int MaxAttempts = 5;

    private readonly NpgsqlDataSource _source;
    private readonly GroupCommitter _committer;

    public IngestMetrics? Metrics { get; set; }

    public TimelineRetention Retention { get; set; } = TimelineRetention.Default;

    private PostgresIngestLog(NpgsqlDataSource source)
    {
        _source = source;
        _committer = new GroupCommitter(CommitWithRetriesAsync, (duration, batches) => Metrics?.RecordCommit(duration, batches));
    }

    /// <summary>The log on a database that <c>apex db init</c> prepared, without I/O (the host checks the database at start).</summary>
    public static PostgresIngestLog Create(string connectionString) => new(NpgsqlDataSource.Create(connectionString));

    /// <summary>Nothing to do: <see cref="Storage.StoreAgreement.CheckPostgresAsync"/> checked the schema.</summary>
    public Task PrepareAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>Opens the log on a database that <c>apex db init</c> (<see cref="Storage.PostgresSchema"/>) prepared, checking its tables.</summary>
    public static async Task<PostgresIngestLog> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var source = NpgsqlDataSource.Create(connectionString);
        try
        {
            await using var command = source.CreateCommand("SELECT to_regclass('apex_events') IS NOT NULL AND to_regclass('apex_tracks') IS NOT NULL");
            if (!(bool)(await command.ExecuteScalarAsync(cancellationToken))!)
            {
                throw new InvalidOperationException("The database has no ingest log tables: run `apex db init --connection …` first.");
            }
        }
        catch
        {
            await source.DisposeAsync();
            throw;
        }

        return new PostgresIngestLog(source);
    }

    public async Task RegisterTrackAsync(string trackId, string platform, DateTimeOffset createdAt, CancellationToken cancellationToken = default)
    {
        // One implicit transaction, the platform first as in bulk registration: concurrent first
        // registrations of a platform then wait on each other in one order.
        await using var batch = _source.CreateBatch();
        var platformRow = new NpgsqlBatchCommand("INSERT INTO apex_platforms (platform) VALUES ($1) ON CONFLICT (platform) DO NOTHING");
        platformRow.Parameters.Add(new NpgsqlParameter<string> { TypedValue = platform });
        var trackRow = new NpgsqlBatchCommand("INSERT INTO apex_tracks (track_id, platform, created_at) VALUES ($1, $2, $3) ON CONFLICT (track_id) DO NOTHING");
        trackRow.Parameters.Add(new NpgsqlParameter<string> { TypedValue = trackId });
        trackRow.Parameters.Add(new NpgsqlParameter<string> { TypedValue = platform });
        trackRow.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = createdAt.UtcDateTime });
        batch.BatchCommands.Add(platformRow);
        batch.BatchCommands.Add(trackRow);
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<CatalogueResult> RegisterCatalogueAsync(IReadOnlyList<CatalogueEntry> entries, DateTimeOffset registeredAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        // Set-based, one transaction: the tracks no silo has yet are inserted (a concurrent insert of the
        // same id waits for the other's commit and then counts as there), the rest compared with what is stored.
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            first.TryAdd(entries[i].TrackId, i);
        }

        var unique = first.Values.Order().Select(i => entries[i]).ToList();
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var created = new HashSet<string>(StringComparer.Ordinal);
        // A track is inserted with the totals of its initial counts; the events that make them are
        // copied below for the tracks this call created, so totals and logged events agree at commit.
        // Inserted in id order: concurrent registrations of overlapping tracks then wait on each other's
        // rows in one order and cannot deadlock (a retried import batch may land beside its first try).
        var rows = unique.OrderBy(e => e.TrackId, StringComparer.Ordinal).Select(e => (Entry: e, Numbered: e.Numbered())).ToList();
        await using (var platforms = new NpgsqlCommand(
            "INSERT INTO apex_platforms (platform) SELECT DISTINCT p FROM unnest($1::text[]) AS t(p) ORDER BY p ON CONFLICT (platform) DO NOTHING", connection, transaction))
        {
            platforms.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. unique.Select(e => e.Registration.Platform).Distinct(StringComparer.Ordinal)] });
            await platforms.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var insert = new NpgsqlCommand(
            "INSERT INTO apex_tracks (track_id, platform, created_at, last_seq, streams, likes) SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[]) ON CONFLICT (track_id) DO NOTHING RETURNING track_id", connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. rows.Select(r => r.Entry.TrackId)] });
            insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. rows.Select(r => r.Entry.Registration.Platform)] });
            insert.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = [.. rows.Select(r => r.Entry.Registration.CreatedAt.UtcDateTime)] });
            insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. rows.Select(r => r.Numbered.Totals.LastSeq)] });
            insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. rows.Select(r => r.Numbered.Totals.Streams)] });
            insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. rows.Select(r => r.Numbered.Totals.Likes)] });
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                created.Add(reader.GetString(0));
            }
        }

        var counted = rows.Select(r => r.Numbered).Where(n => n.Events.Count > 0 && created.Contains(n.Totals.TrackId)).ToList();
        if (counted.Count > 0)
        {
            await CopyEventsAsync(connection, counted.SelectMany(n => n.Events), cancellationToken);
        }

        var fresh = unique.Where(e => created.Contains(e.TrackId)).ToList();
        await using (var catalogue = new NpgsqlCommand(
            "INSERT INTO apex_catalogue (track_id, registration, registered_at) SELECT id, registration, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(id, registration, n) ORDER BY n", connection, transaction))
        {
            catalogue.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. fresh.Select(e => e.TrackId)] });
            catalogue.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. fresh.Select(e => e.Stored())] });
            catalogue.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = registeredAt.UtcDateTime });
            await catalogue.ExecuteNonQueryAsync(cancellationToken);
        }

        var stored = new Dictionary<string, (string Platform, DateTime CreatedAt, string? Registration)>(StringComparer.Ordinal);
        await using (var read = new NpgsqlCommand(
            "SELECT t.track_id, t.platform, t.created_at, c.registration FROM apex_tracks t LEFT JOIN apex_catalogue c ON c.track_id = t.track_id WHERE t.track_id = ANY($1)", connection, transaction))
        {
            read.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. unique.Where(e => !created.Contains(e.TrackId)).Select(e => e.TrackId)] });
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                stored[reader.GetString(0)] = (reader.GetString(1), reader.GetDateTime(2), reader.IsDBNull(3) ? null : reader.GetString(3));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        var outcomes = new CatalogueOutcome[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            var (id, registration) = entries[i];
            var firstIndex = first[id];
            outcomes[i] = i != firstIndex
                ? (registration == entries[firstIndex].Registration && outcomes[firstIndex] != CatalogueOutcome.Conflict ? CatalogueOutcome.Same : CatalogueOutcome.Conflict)
                : created.Contains(id) ? CatalogueOutcome.Created
                : stored.TryGetValue(id, out var row) && Matches(row, registration) ? CatalogueOutcome.Same
                : CatalogueOutcome.Conflict;
        }

        return new CatalogueResult(outcomes, [.. rows.Select(r => r.Numbered.Totals).Where(t => created.Contains(t.TrackId))]);

        // A track registered one by one is known here by platform and creation time (to the microsecond PostgreSQL keeps).
        static bool Matches((string Platform, DateTime CreatedAt, string? Registration) row, TrackRegistration registration) =>
            row.Registration is { } json
                ? CatalogueEntry.Read(json) == registration
                : row.Platform == registration.Platform && row.CreatedAt.Ticks / 10 == registration.CreatedAt.UtcTicks / 10;
    }

    public async Task<IReadOnlyList<BackfillItem>> ReadBackfillAsync(long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = _source.CreateCommand("SELECT backfill_seq, track_id FROM apex_catalogue WHERE backfill_seq > $1 ORDER BY backfill_seq LIMIT $2");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSeq });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var items = new List<BackfillItem>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new BackfillItem(reader.GetInt64(0), reader.GetString(1)));
        }

        return items;
    }

    public async Task<BackfillDepth> CountBackfillAsync(long afterSeq, CancellationToken cancellationToken = default)
    {
        await using var command = _source.CreateCommand("SELECT count(*), min(registered_at) FROM apex_catalogue WHERE backfill_seq > $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSeq });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new BackfillDepth(reader.GetInt64(0), reader.IsDBNull(1) ? null : new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero));
    }

    public async Task<CatalogueRecord?> ReadCatalogueAsync(string trackId, CancellationToken cancellationToken = default)
    {
        await using var command = _source.CreateCommand("SELECT registration, registered_at FROM apex_catalogue WHERE track_id = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = trackId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new CatalogueRecord(trackId, CatalogueEntry.Read(reader.GetString(0)), new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero))
            : null;
    }

    public Task<IngestResult> AppendAsync(IReadOnlyList<EngagementEvent> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return _committer.SubmitAsync(batch, this, cancellationToken);
    }

    public async Task<TrackTotals?> ReadTotalsAsync(string trackId, CancellationToken cancellationToken = default) =>
        (await ReadTotalsWhereAsync("track_id = $1", trackId, cancellationToken)).SingleOrDefault();

    public async Task PingAsync(CancellationToken cancellationToken = default)
    {
        await using var command = _source.CreateCommand("SELECT count(*) FROM (SELECT 1 FROM apex_tracks LIMIT 1) t");
        await command.ExecuteScalarAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListPlatformsAsync(CancellationToken cancellationToken = default)
    {
        await using var command = _source.CreateCommand("SELECT platform FROM apex_platforms ORDER BY platform");
        var platforms = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            platforms.Add(reader.GetString(0));
        }

        return platforms;
    }

    public async Task<IReadOnlyList<TrackTotals>> ReadPlatformTotalsAsync(string platform, CancellationToken cancellationToken = default) =>
        await ReadTotalsWhereAsync("platform = $1", platform, cancellationToken);

    public async Task<IReadOnlyList<LoggedEvent>> ReadAfterAsync(string trackId, long afterSeq, CancellationToken cancellationToken = default)
    {
        await using var command = _source.CreateCommand("SELECT track_seq, kind, count FROM apex_events WHERE track_id = $1 AND track_seq > $2 ORDER BY track_seq");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = trackId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSeq });
        var events = new List<LoggedEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new LoggedEvent(trackId, reader.GetInt64(0), (EventKind)reader.GetInt16(1), reader.GetInt64(2)));
        }

        return events;
    }

    public async Task<IReadOnlyList<TrackPoint>> ReadHourlyAsync(IReadOnlyCollection<string> trackIds, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trackIds);
        await using var command = _source.CreateCommand("SELECT track_id, start, streams, likes FROM apex_timeline WHERE track_id = ANY($1) AND width = $2 AND start >= $3");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. trackIds] });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)BucketWidth.Hour });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = since.ToUnixTimeSeconds() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await TimelineRows.ReadTrackPointsAsync(reader, cancellationToken);
    }

    public async Task<IReadOnlyList<TimelinePoint>> ReadTimelineAsync(string trackId, BucketWidth width, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        await using var command = _source.CreateCommand("SELECT start, streams, likes FROM apex_timeline WHERE track_id = $1 AND width = $2 AND start >= $3 AND start < $4 ORDER BY start");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = trackId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)width });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = since.ToUnixTimeSeconds() });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = until.ToUnixTimeSeconds() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await TimelineRows.ReadPointsAsync(reader, cancellationToken);
    }

    public async Task<int> CompactAsync(long window = SqliteIngestLog.DedupWindow, CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        await using (var prune = _source.CreateCommand("DELETE FROM apex_timeline WHERE (width = $1 AND start < $2) OR (width = $3 AND start < $4)"))
        {
            prune.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)BucketWidth.Hour });
            prune.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Retention.FirstKept(BucketWidth.Hour, now) });
            prune.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)BucketWidth.Day });
            prune.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Retention.FirstKept(BucketWidth.Day, now) });
            await prune.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var command = _source.CreateCommand("DELETE FROM apex_events e USING apex_tracks t WHERE e.track_id = t.track_id AND e.track_seq <= t.last_seq - $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = window });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _committer.DisposeAsync();
        await _source.DisposeAsync();
    }

    private async Task<List<TrackTotals>> ReadTotalsWhereAsync(string where, string key, CancellationToken cancellationToken)
    {
        await using var command = _source.CreateCommand($"SELECT track_id, platform, last_seq, streams, likes, created_at FROM apex_tracks WHERE {where}");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        var totals = new List<TrackTotals>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            totals.Add(Read(reader));
        }

        return totals;
    }

    /// <summary>A track's totals from a row of track_id, platform, last_seq, streams, likes, created_at.</summary>
    private static TrackTotals Read(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), new DateTimeOffset(reader.GetDateTime(5), TimeSpan.Zero));

    private async Task<IngestResult[]> CommitWithRetriesAsync(IReadOnlyList<IReadOnlyList<EngagementEvent>> group)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await CommitAsync(group);
            }
            catch (PostgresException ex) when (attempt < MaxAttempts && ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20) * attempt));
            }
        }
    }

    private async Task<IngestResult[]> CommitAsync(IReadOnlyList<IReadOnlyList<EngagementEvent>> group)
    {
        await using var connection = await _source.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        var trackIds = group.SelectMany(p => p).Select(e => e.TrackId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var totals = new Dictionary<string, TrackTotals>(StringComparer.Ordinal);
        await using (var locking = new NpgsqlCommand("SELECT track_id, platform, last_seq, streams, likes, created_at FROM apex_tracks WHERE track_id = ANY($1) ORDER BY track_id COLLATE \"C\" FOR UPDATE", connection, transaction))
        {
            locking.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = trackIds });
            await using var reader = await locking.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                totals[reader.GetString(0)] = Read(reader);
            }
        }

        // What is logged already: a re-sent id is a duplicate or a conflict.
        var logged = new Dictionary<(string Track, string Event), LoggedPayload>();
        var candidates = group.SelectMany(p => p).Where(e => totals.ContainsKey(e.TrackId)).ToArray();
        await using (var existing = new NpgsqlCommand("SELECT e.track_id, e.event_id, e.kind, e.count, e.ts FROM apex_events e JOIN unnest($1::text[], $2::text[]) AS c(track_id, event_id) ON e.track_id = c.track_id AND e.event_id = c.event_id", connection, transaction))
        {
            existing.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = candidates.Select(e => e.TrackId).ToArray() });
            existing.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = candidates.Select(e => e.EventId).ToArray() });
            await using var reader = await existing.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                logged[(reader.GetString(0), reader.GetString(1))] = new LoggedPayload((EventKind)reader.GetInt16(2), reader.GetInt64(3), reader.GetFieldValue<DateTimeOffset>(4).UtcTicks);
            }
        }

        var classified = BatchClassifier.Classify(
            group,
            track => totals.GetValueOrDefault(track),
            e => logged.TryGetValue((e.TrackId, e.EventId), out var payload) ? payload : null);
        if (classified.Accepted.Count > 0)
        {
            // The rows are deduplicated already (under the track locks), so no conflict clause is needed.
            await CopyEventsAsync(connection, classified.Accepted, CancellationToken.None);
            var changed = classified.Changed.Values.ToArray();
            await using var advance = new NpgsqlCommand("UPDATE apex_tracks t SET last_seq = u.last_seq, streams = u.streams, likes = u.likes FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(track_id, last_seq, streams, likes) WHERE t.track_id = u.track_id", connection, transaction);
            advance.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = changed.Select(t => t.TrackId).ToArray() });
            advance.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = changed.Select(t => t.LastSeq).ToArray() });
            advance.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = changed.Select(t => t.Streams).ToArray() });
            advance.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = changed.Select(t => t.Likes).ToArray() });
            await advance.ExecuteNonQueryAsync();

            // The curves in the same commit, their rows in track order: a track's rows are only written
            // under its apex_tracks lock, so concurrent commits never wait on each other's buckets in a cycle.
            var buckets = TimelineRollup.Sum(
                classified.Accepted.Select(n => new StoredEvent(n.Event.TrackId, n.Event.EventId, n.TrackSeq, n.Event.Kind, n.Event.Count, n.Event.Timestamp.UtcTicks)),
                DateTimeOffset.UtcNow, Retention);
            if (buckets.Count > 0)
            {
                await using var roll = new NpgsqlCommand(
                    "INSERT INTO apex_timeline (track_id, width, start, streams, likes) SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[]) " +
                    "ON CONFLICT (track_id, width, start) DO UPDATE SET streams = apex_timeline.streams + excluded.streams, likes = apex_timeline.likes + excluded.likes", connection, transaction);
                roll.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. buckets.Keys.Select(b => b.TrackId)] });
                roll.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. buckets.Keys.Select(b => (int)b.Width)] });
                roll.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. buckets.Keys.Select(b => b.Start)] });
                roll.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. buckets.Values.Select(v => v.Streams)] });
                roll.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. buckets.Values.Select(v => v.Likes)] });
                await roll.ExecuteNonQueryAsync();
            }
        }

        await transaction.CommitAsync();
        return classified.Results;
    }

    /// <summary>Appends numbered events with binary COPY, within the connection's open transaction.</summary>
    private static async Task CopyEventsAsync(NpgsqlConnection connection, IEnumerable<NumberedEvent> events, CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync("COPY apex_events (track_id, event_id, track_seq, kind, count, ts) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var (e, seq) in events)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(e.TrackId, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(e.EventId, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(seq, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync((short)e.Kind, NpgsqlDbType.Smallint, cancellationToken);
            await copy.WriteAsync(e.Count, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(e.Timestamp.UtcDateTime, NpgsqlDbType.TimestampTz, cancellationToken);
        }

        await copy.CompleteAsync(cancellationToken);
    }
}
