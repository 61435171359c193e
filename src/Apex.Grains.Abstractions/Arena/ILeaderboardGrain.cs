namespace Apex.Grains.Arena;

/// <summary>
/// One leaderboard scope (key: overall, instrumental or vocal): the pairwise outcome counts and Elo of
/// the battles recorded so far, and the latest Bradley-Terry refit, made in the background.
/// </summary>
[Alias("Apex.Grains.Arena.ILeaderboardGrain")]
public interface ILeaderboardGrain : IGrainWithStringKey
{
    /// <summary>Counts newly logged battles (each once, by its log number).</summary>
    [Alias("AddAsync")]
    Task AddAsync(IReadOnlyList<ArenaBattle> battles);

    [Alias("GetAsync")]
    Task<LeaderboardView> GetAsync();

    /// <summary>Refits now (bootstrap included) and answers the new board.</summary>
    [Alias("RefitAsync")]
    [ResponseTimeout("00:10:00")]
    Task<LeaderboardView> RefitAsync();
}

/// <summary>A logged battle; <see cref="Winner"/>: 0 model_a, 1 model_b, 2 tie, 3 both bad.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Arena.ArenaBattle")]
public sealed record ArenaBattle(
    [property: Id(0)] long Seq,
    [property: Id(1)] string BattleId,
    [property: Id(2)] string ModelA,
    [property: Id(3)] string ModelB,
    [property: Id(4)] int Winner,
    [property: Id(5)] bool? Instrumental,
    [property: Id(6)] string? TrackA,
    [property: Id(7)] string? TrackB);

[GenerateSerializer]
[Alias("Apex.Grains.Arena.LeaderboardRow")]
public sealed record LeaderboardRow(
    [property: Id(0)] string System,
    [property: Id(1)] double Rating,
    [property: Id(2)] double CiLow,
    [property: Id(3)] double CiHigh,
    [property: Id(4)] int RankUb,
    [property: Id(5)] int Battles,
    [property: Id(6)] double Wins,
    [property: Id(7)] double Ties,
    [property: Id(8)] double Elo,
    [property: Id(9)] bool Provisional);

/// <summary>
/// The board as of its last refit, with how many battles it has counted since, and the battles the fit
/// leaves out: both-bad votes and battles between two tracks of one system.
/// </summary>
[GenerateSerializer]
[Alias("Apex.Grains.Arena.LeaderboardView")]
public sealed record LeaderboardView(
    [property: Id(0)] string Scope,
    [property: Id(1)] IReadOnlyList<LeaderboardRow> Systems,
    [property: Id(2)] long Battles,
    [property: Id(3)] long BattlesAtRefit,
    [property: Id(4)] DateTimeOffset? RefittedAt,
    [property: Id(5)] double? RefitSeconds,
    [property: Id(6)] int Bootstrap,
    [property: Id(7)] long SkippedSameSystem = 0,
    [property: Id(8)] long SkippedBothBad = 0);
