using Apex.Grains.Arena;
using Apex.Grains.Storage;
using Apex.Testing;

namespace Apex.Cluster.Tests;

/// <summary>The battle log on both databases: idempotent by battle id, voter caps, log order.</summary>
public sealed class BattleLogTests(ThrowawayPostgres postgres) : IClassFixture<ThrowawayPostgres>
{
    private static readonly DateTimeOffset Day = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static IncomingBattle Battle(string id, string? voter = null, bool? instrumental = true) => new(id, "x", "y", 0, instrumental, "ta", null, voter);

    private static async Task CheckAsync(BattleLog log)
    {
        var (first, accepted) = await log.AppendAsync([Battle("b1"), Battle("b2", "v"), Battle("b1"), Battle("b3", "v"), Battle("b4", "v", null)], dailyCapPerVoter: 2, Day);
        var (again, _) = await log.AppendAsync([Battle("b2", "v"), Battle("b5", "v")], dailyCapPerVoter: 2, Day);
        var (nextDay, _) = await log.AppendAsync([Battle("b5", "v")], dailyCapPerVoter: 2, Day.AddDays(1));

        Assert.Equal([BattleOutcome.Accepted, BattleOutcome.Accepted, BattleOutcome.Duplicate, BattleOutcome.Accepted, BattleOutcome.VoterCapReached], first);
        Assert.Equal([BattleOutcome.Duplicate, BattleOutcome.VoterCapReached], again);
        Assert.Equal([BattleOutcome.Accepted], nextDay);
        var (resent, none) = await log.AppendAsync(
            [Battle("b1"), Battle("b1") with { Winner = 1 }, Battle("b1", instrumental: false), Battle("b1") with { TrackA = "other" }, Battle("b2", "w")],
            dailyCapPerVoter: 2, Day.AddDays(1));
        Assert.Equal([BattleOutcome.Duplicate, BattleOutcome.Conflict, BattleOutcome.Conflict, BattleOutcome.Conflict, BattleOutcome.Conflict], resent);
        Assert.Empty(none);
        var logged = new List<ArenaBattle>();
        await foreach (var battle in log.ReadAsync())
        {
            logged.Add(battle);
        }

        Assert.Equal(["b1", "b2", "b3", "b5"], logged.Select(b => b.BattleId));
        Assert.Equal(accepted.Select(a => a.Seq), logged.Take(3).Select(b => b.Seq));
        Assert.Equal((true, "ta", (string?)null), (logged[0].Instrumental!.Value, logged[0].TrackA, logged[0].TrackB));
        Assert.Equal(logged[^1].Seq, await log.LastSeqAsync());
    }

    [Fact]
    public async Task On_sqlite()
    {
        var path = Path.Combine(Path.GetTempPath(), $"apex-arena-{Guid.NewGuid():N}.db");
        using var log = await BattleLog.OpenSqliteAsync(path);
        try
        {
            await CheckAsync(log);
        }
        finally
        {
            SqliteCluster.DeleteFiles(path);
        }
    }

    [Fact]
    public async Task On_postgres()
    {
        var database = await postgres.CreateDatabaseAsync();
        await PostgresSchema.ApplyAsync(database);
        using var log = BattleLog.OpenPostgres(database);

        await CheckAsync(log);
    }
}
