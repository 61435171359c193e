namespace Apex.Arena;

/// <summary>One system on a leaderboard (the JSON of <c>apex arena leaderboard</c> and <c>GET /leaderboards/{scope}</c>).</summary>
public sealed record LeaderboardEntry(
    string System,
    double Rating,
    double CiLow,
    double CiHigh,
    int RankUb,
    int Battles,
    double Wins,
    double Ties,
    double Elo,
    bool Provisional);

public static class Leaderboard
{
    /// <summary>Fewer battles than this and a system is listed but marked provisional.</summary>
    public const int ProvisionalBelow = 30;

    /// <summary>
    /// Bradley-Terry ratings with bootstrap intervals, Elo beside them, sorted by rating. rank_ub is 1 +
    /// the number of systems whose interval lies wholly above this one's (the arena convention).
    /// </summary>
    public static IReadOnlyList<LeaderboardEntry> Build(IReadOnlyList<Battle> battles, ArenaScope scope, int bootstrap = 1_000, int seed = 42)
    {
        ArgumentNullException.ThrowIfNull(battles);
        var inScope = battles.Where(b => BattleFile.InScope(b, scope)).ToList();
        return Build(PairwiseCounts.From(inScope), Elo.Run(inScope), bootstrap, seed);
    }

    public static IReadOnlyList<LeaderboardEntry> Build(PairwiseCounts counts, IReadOnlyDictionary<string, double> elo, int bootstrap, int seed)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(elo);
        var ratings = BradleyTerry.Ratings(BradleyTerry.Fit(counts));
        var (low, high) = bootstrap > 0 ? BradleyTerry.Intervals(counts, bootstrap, seed) : (ratings, ratings);
        var n = counts.Systems.Count;
        var entries = Enumerable.Range(0, n).Select(i =>
        {
            var (wins, ties) = counts.Record(i);
            var rankUb = 1 + Enumerable.Range(0, n).Count(j => j != i && low[j] > high[i]);
            var battles = counts.BattlesPerSystem[i];
            return new LeaderboardEntry(counts.Systems[i], ratings[i], low[i], high[i], rankUb, battles, wins, ties,
                elo.GetValueOrDefault(counts.Systems[i], 1000), battles < ProvisionalBelow);
        });
        return entries.OrderByDescending(e => e.Rating).ThenBy(e => e.System, StringComparer.Ordinal).ToList();
    }
}
