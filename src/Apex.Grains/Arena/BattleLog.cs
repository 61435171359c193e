using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Apex.Grains.Arena;

/// <summary>What happened to one battle of a batch.</summary>
public enum BattleOutcome
{
    Accepted,

    /// <summary>The battle id was logged before with the same battle: acknowledged, not counted again.</summary>
    Duplicate,

    /// <summary>The voter reached the daily cap: not counted, so one voter cannot swing a board.</summary>
    VoterCapReached,

    /// <summary>The battle id was logged before with another battle (systems, winner, tracks or voter): refused, boards unchanged.</summary>
    Conflict,
}

/// <summary>A battle as sent, with its voter already hashed.</summary>
public sealed record IncomingBattle(string BattleId, string ModelA, string ModelB, int Winner, bool? Instrumental, string? TrackA, string? TrackB, string? VoterHash);

/// <summary>
/// The durable battle log in the profile's database (SQLite <c>arena.db</c> or PostgreSQL
/// <c>apex_battles</c>): one row per battle id, numbered in arrival order, so a retried batch counts each
/// battle once and leaderboards can rebuild their counts from it. Per-voter daily caps are checked in
/// the same transaction as the insert.
/// </summary>
public sealed class BattleLog : IDisposable
{
    private readonly DbProviderFactory _factory;
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writer = new(1, 1);

    private BattleLog(DbProviderFactory factory, string connectionString)
    {
        _factory = factory;
        _connectionString = connectionString;
    }

    public static async Task<BattleLog> OpenSqliteAsync(string databasePath, CancellationToken cancellationToken = default)
    {
        var log = CreateSqlite(databasePath);
        await Storage.SqliteSchema.ApplyAsync(log._connectionString, Storage.LocalStores.Arena, cancellationToken);
        return log;
    }

    /// <summary>The local log in <paramref name="databasePath"/>, without I/O (the host applies every local schema at start).</summary>
    public static BattleLog CreateSqlite(string databasePath) => new(SqliteFactory.Instance, Storage.SqliteGrainStorage.ConnectionString(databasePath));

    /// <summary>The cluster's log: the table <c>apex db init</c> creates.</summary>
    public static BattleLog OpenPostgres(string connectionString) => new(NpgsqlFactory.Instance, connectionString);

    /// <summary>Logs a batch in one transaction; answers each battle's outcome and the accepted ones as logged.</summary>
    public async Task<(IReadOnlyList<BattleOutcome> Outcomes, IReadOnlyList<ArenaBattle> Accepted)> AppendAsync(
        IReadOnlyList<IncomingBattle> battles, int dailyCapPerVoter, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(battles);
        var day = now.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var outcomes = new BattleOutcome[battles.Count];
        var accepted = new List<ArenaBattle>();
        // One writer at a time in this silo; across silos the unique battle id decides.
        await _writer.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var voterCounts = new Dictionary<string, long>(StringComparer.Ordinal);
            for (var i = 0; i < battles.Count; i++)
            {
                var b = battles[i];
                if (b.VoterHash is { } voter)
                {
                    if (!voterCounts.TryGetValue(voter, out var used))
                    {
                        await using var count = Command(connection, transaction, "SELECT count(*) FROM apex_battles WHERE voter_hash = @v AND day = @d", ("@v", voter), ("@d", day));
                        used = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
                    }

                    if (used >= dailyCapPerVoter)
                    {
                        outcomes[i] = await ResentAsync(connection, transaction, b, cancellationToken) ?? BattleOutcome.VoterCapReached;
                        voterCounts[voter] = used;
                        continue;
                    }

                    voterCounts[voter] = used;
                }

                await using var insert = Command(connection, transaction,
                    "INSERT INTO apex_battles (battle_id, model_a, model_b, winner, instrumental, track_a, track_b, voter_hash, day, received_at) " +
                    "VALUES (@id, @a, @b, @w, @i, @ta, @tb, @v, @d, @at) ON CONFLICT (battle_id) DO NOTHING RETURNING seq",
                    ("@id", b.BattleId), ("@a", b.ModelA), ("@b", b.ModelB), ("@w", b.Winner), ("@i", b.Instrumental is { } flag ? (flag ? 1 : 0) : DBNull.Value),
                    ("@ta", (object?)b.TrackA ?? DBNull.Value), ("@tb", (object?)b.TrackB ?? DBNull.Value), ("@v", (object?)b.VoterHash ?? DBNull.Value),
                    ("@d", day), ("@at", now.ToString("O", System.Globalization.CultureInfo.InvariantCulture)));
                var seq = await insert.ExecuteScalarAsync(cancellationToken);
                if (seq is null or DBNull)
                {
                    outcomes[i] = await ResentAsync(connection, transaction, b, cancellationToken) ?? BattleOutcome.Duplicate;
                    continue;
                }

                outcomes[i] = BattleOutcome.Accepted;
                if (b.VoterHash is { } counted)
                {
                    voterCounts[counted]++;
                }

                accepted.Add(new ArenaBattle(Convert.ToInt64(seq, System.Globalization.CultureInfo.InvariantCulture), b.BattleId, b.ModelA, b.ModelB, b.Winner, b.Instrumental, b.TrackA, b.TrackB));
            }

            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            _writer.Release();
        }

        return (outcomes, accepted);
    }

    /// <summary>Every logged battle after <paramref name="afterSeq"/>, in log order (a refit's or a reload's source).</summary>
    public async IAsyncEnumerable<ArenaBattle> ReadAsync(long afterSeq = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT seq, battle_id, model_a, model_b, winner, instrumental, track_a, track_b FROM apex_battles WHERE seq > @s ORDER BY seq", ("@s", afterSeq));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new ArenaBattle(
                reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), Convert.ToInt32(reader.GetValue(4), System.Globalization.CultureInfo.InvariantCulture),
                reader.IsDBNull(5) ? null : Convert.ToInt32(reader.GetValue(5), System.Globalization.CultureInfo.InvariantCulture) == 1,
                reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7));
        }
    }

    /// <summary>The number of the last logged battle (0 when none).</summary>
    public async Task<long> LastSeqAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT coalesce(max(seq), 0) FROM apex_battles");
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose() => _writer.Dispose();

    /// <summary>A battle id logged before: a duplicate when the logged battle is this one, a conflict otherwise; null when it is new.</summary>
    private static async Task<BattleOutcome?> ResentAsync(DbConnection connection, DbTransaction transaction, IncomingBattle battle, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "SELECT model_a, model_b, winner, instrumental, track_a, track_b, voter_hash FROM apex_battles WHERE battle_id = @id", ("@id", battle.BattleId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        bool? instrumental = reader.IsDBNull(3) ? null : Convert.ToInt64(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture) != 0;
        var same = reader.GetString(0) == battle.ModelA && reader.GetString(1) == battle.ModelB
            && Convert.ToInt32(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture) == battle.Winner
            && instrumental == battle.Instrumental && Text(4) == battle.TrackA && Text(5) == battle.TrackB && Text(6) == battle.VoterHash;
        return same ? BattleOutcome.Duplicate : BattleOutcome.Conflict;
    }

    private Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => Storage.Db.OpenAsync(_factory, _connectionString, cancellationToken);

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object Value)[] parameters) =>
        Storage.Db.Command(connection, transaction, sql, parameters);
}
