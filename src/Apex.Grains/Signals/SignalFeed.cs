using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Apex.Grains.Signals;

/// <summary>
/// The signal feed in the profile's database (SQLite <c>scores.db</c>, PostgreSQL <c>apex_signals</c>):
/// every breakout, scored track and promoted model once, numbered in the order recorded. Server-Sent
/// Events read it after a client's Last-Event-ID. Written only by <see cref="SignalFeedGrain"/>.
/// </summary>
public sealed class SignalFeed
{
    /// <summary>The columns <see cref="ReadEvent"/> reads, in its order.</summary>
    internal const string Columns = "seq, type, key, platform, track_id, at, data";

    private readonly DbProviderFactory _factory;
    private readonly string _connectionString;

    private SignalFeed(DbProviderFactory factory, string connectionString)
    {
        _factory = factory;
        _connectionString = connectionString;
    }

    /// <summary>The local feed in <paramref name="databasePath"/> (the score store's file), without I/O.</summary>
    public static SignalFeed CreateSqlite(string databasePath) => new(SqliteFactory.Instance, Storage.SqliteGrainStorage.ConnectionString(databasePath));

    public static SignalFeed OpenPostgres(string connectionString) => new(NpgsqlFactory.Instance, connectionString);

    /// <summary>Records the events whose key is new, in order, in one transaction.</summary>
    public async Task AppendAsync(IReadOnlyList<SignalEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO apex_signals (type, key, platform, track_id, at, data) VALUES (@type, @key, @platform, @track, @at, @data) ON CONFLICT (key) DO NOTHING";
        foreach (var e in events)
        {
            insert.Parameters.Clear();
            Add(insert, "@type", e.Type);
            Add(insert, "@key", e.Key);
            Add(insert, "@platform", (object?)e.Platform ?? DBNull.Value);
            Add(insert, "@track", (object?)e.TrackId ?? DBNull.Value);
            Add(insert, "@at", e.At.ToUnixTimeMilliseconds());
            Add(insert, "@data", e.Data);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Up to <paramref name="limit"/> events after <paramref name="afterSeq"/>, oldest first, of the platform and types given (null: all).</summary>
    public async Task<IReadOnlyList<SignalEvent>> ReadAfterAsync(long afterSeq, int limit, string? platform = null, IReadOnlyCollection<string>? types = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // The filters are few and fixed, so they are applied here rather than built into SQL per request.
        command.CommandText = $"SELECT {Columns} FROM apex_signals WHERE seq > @after ORDER BY seq LIMIT @limit";
        Add(command, "@after", afterSeq);
        Add(command, "@limit", limit);
        var events = new List<SignalEvent>();
        var last = afterSeq;
        while (true)
        {
            var read = 0;
            command.Parameters[0].Value = last;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    read++;
                    var e = ReadEvent(reader);
                    last = e.Seq;
                    if ((platform is null || e.Platform == platform) && (types is null || types.Contains(e.Type)) && events.Count < limit)
                    {
                        events.Add(e);
                    }
                }
            }

            if (read < limit || events.Count >= limit)
            {
                return events;
            }
        }
    }

    /// <summary>The last <paramref name="limit"/> events of <paramref name="types"/>, newest first.</summary>
    public async Task<IReadOnlyList<SignalEvent>> ReadLatestAsync(int limit, IReadOnlyList<string> types, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(types);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM apex_signals WHERE type IN ({string.Join(", ", types.Select((_, i) => $"@t{i}"))}) ORDER BY seq DESC LIMIT @limit";
        for (var i = 0; i < types.Count; i++)
        {
            Add(command, $"@t{i}", types[i]);
        }

        Add(command, "@limit", limit);
        var events = new List<SignalEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(ReadEvent(reader));
        }

        return events;
    }

    /// <summary>The number of the last event recorded (0: none).</summary>
    public async Task<long> LastSeqAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM apex_signals";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>An event from a row of <see cref="Columns"/>.</summary>
    internal static SignalEvent ReadEvent(DbDataReader reader) =>
        new(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)), reader.GetString(6));

    private Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => Storage.Db.OpenAsync(_factory, _connectionString, cancellationToken);

    private static void Add(DbCommand command, string name, object value) => Storage.Db.Add(command, name, value);
}
