using MathNet.Numerics.Statistics;

namespace Apex.Arena.Tests;

public sealed class BradleyTerryTests
{
    private static Battle B(string a, string b, BattleWinner w, bool? instrumental = null) => new(Guid.NewGuid().ToString("N"), a, b, w, instrumental);

    /// <summary>An independent fit: Zermelo's/Hunter's MM iteration on the same wins (ties as halves).</summary>
    private static double[] MinorizeMaximize(PairwiseCounts counts)
    {
        var n = counts.Systems.Count;
        var wins = new double[n];
        var games = new double[n, n];
        foreach (var (a, b, wa, wb, t) in counts.Cells)
        {
            wins[a] += wa + (t / 2);
            wins[b] += wb + (t / 2);
            games[a, b] += wa + wb + t;
            games[b, a] += wa + wb + t;
        }

        var p = Enumerable.Repeat(1.0, n).ToArray();
        for (var iteration = 0; iteration < 10_000; iteration++)
        {
            var next = new double[n];
            for (var i = 0; i < n; i++)
            {
                var denominator = 0.0;
                for (var j = 0; j < n; j++)
                {
                    if (i != j && games[i, j] > 0)
                    {
                        denominator += games[i, j] / (p[i] + p[j]);
                    }
                }

                next[i] = wins[i] / denominator;
            }

            var norm = Math.Exp(next.Select(v => Math.Log(v)).Average());
            p = next.Select(v => v / norm).ToArray();
        }

        var theta = p.Select(v => Math.Log(v)).ToArray();
        var mean = theta.Average();
        return theta.Select(t => t - mean).ToArray();
    }

    [Fact]
    public void Newton_on_the_counts_agrees_with_an_independent_minorize_maximize_fit()
    {
        var battles = new SyntheticArena(Systems: 8, Battles: 4_000, Seed: 3).Generate(withScores: false).Battles;
        var counts = PairwiseCounts.From(battles);

        var newton = BradleyTerry.Ratings(BradleyTerry.Fit(counts));
        var mm = BradleyTerry.Ratings(MinorizeMaximize(counts));

        for (var i = 0; i < newton.Length; i++)
        {
            Assert.Equal(mm[i], newton[i], 0.05); // within 0.05 rating points (the ridge is 1e-6)
        }
    }

    [Fact]
    public void Known_strengths_are_recovered_in_order_and_within_a_bound()
    {
        var synthetic = new SyntheticArena(Systems: 20, Battles: 40_000, Seed: 11, QualityNoise: 0).Generate(withScores: false);

        var board = Leaderboard.Build(synthetic.Battles, ArenaScope.Overall, bootstrap: 0);

        var estimated = board.Select(e => e.Rating).ToArray();
        var truth = board.Select(e => synthetic.TrueRatings[e.System]).ToArray();
        Assert.True(Correlation.Spearman(estimated, truth) > 0.97, $"Spearman {Correlation.Spearman(estimated, truth):0.000}");
        // ~3,600 battles a system: the standard error is ~15 points; 45 is three of them.
        Assert.All(board, e => Assert.InRange(e.Rating - synthetic.TrueRatings[e.System], -45, 45));
    }

    [Fact]
    public void Bootstrap_intervals_cover_the_fitted_truth_at_about_the_nominal_rate()
    {
        // Coverage of the large-sample rating (the BT fit on 200,000 battles of the same arena), 30 seeds × 6 systems.
        var reference = Leaderboard.Build(new SyntheticArena(6, 200_000, Seed: 99).Generate(false).Battles, ArenaScope.Overall, bootstrap: 0)
            .ToDictionary(e => e.System, e => e.Rating);
        var covered = 0;
        var total = 0;
        for (var seed = 0; seed < 30; seed++)
        {
            var sample = new SyntheticArena(6, 200_000, Seed: 99).Generate(false).Battles.Skip(seed * 2_000).Take(2_000).ToList();
            foreach (var entry in Leaderboard.Build(sample, ArenaScope.Overall, bootstrap: 300, seed: seed))
            {
                total++;
                covered += entry.CiLow <= reference[entry.System] && reference[entry.System] <= entry.CiHigh ? 1 : 0;
            }
        }

        Assert.InRange(covered / (double)total, 0.88, 0.995);
    }

    [Fact]
    public void Ties_count_half_each_way_and_both_bad_votes_are_left_out()
    {
        List<Battle> battles = [B("x", "y", BattleWinner.ModelA), B("x", "y", BattleWinner.ModelA), B("y", "x", BattleWinner.ModelB), B("x", "y", BattleWinner.Tie), B("x", "y", BattleWinner.Tie), B("x", "y", BattleWinner.ModelB), B("x", "y", BattleWinner.BothBad)];

        var counts = PairwiseCounts.From(battles);
        var board = Leaderboard.Build(battles, ArenaScope.Overall, bootstrap: 0);

        // x: 3 wins + 2 half-wins = 4; y: 1 win + 2 half-wins = 2, so θx − θy = ln 2: 400·log10(2) points apart.
        Assert.Equal(6, counts.Battles);
        Assert.Equal(1, counts.BothBad);
        Assert.Equal(400 * Math.Log10(2), board[0].Rating - board[1].Rating, 0.01);
        Assert.Equal(("x", 3.0, 2.0), (board[0].System, board[0].Wins, board[0].Ties));
        Assert.All(board, e => Assert.True(e.Provisional));
    }

    [Fact]
    public void Elo_updates_by_hand()
    {
        var elo = Elo.Run([B("a", "b", BattleWinner.ModelA), B("a", "b", BattleWinner.Tie), B("a", "b", BattleWinner.BothBad)]);

        var expectedTie = 1 / (1 + Math.Pow(10, (998 - 1002) / 400.0));
        Assert.Equal(1002 + (4 * (0.5 - expectedTie)), elo["a"], 9);
        Assert.Equal(998 - (4 * (0.5 - expectedTie)), elo["b"], 9);
    }

    [Fact]
    public void Rank_upper_bound_counts_the_systems_whose_interval_is_wholly_above()
    {
        var battles = new List<Battle>();
        for (var i = 0; i < 300; i++)
        {
            battles.Add(B("top", "mid", i % 4 == 0 ? BattleWinner.ModelB : BattleWinner.ModelA));
            battles.Add(B("mid", "low", i % 4 == 0 ? BattleWinner.ModelB : BattleWinner.ModelA));
            battles.Add(B("top", "twin", i % 2 == 0 ? BattleWinner.ModelB : BattleWinner.ModelA));
        }

        var board = Leaderboard.Build(battles, ArenaScope.Overall, bootstrap: 200).ToDictionary(e => e.System);

        Assert.Equal(1, board["top"].RankUb);
        Assert.Equal(1, board["twin"].RankUb); // level with top: neither interval lies above the other
        Assert.Equal(3, board["mid"].RankUb);
        Assert.Equal(4, board["low"].RankUb);
        Assert.All(board.Values, e => Assert.False(e.Provisional));
    }

    [Fact]
    public void Scopes_split_instrumental_and_vocal_battles()
    {
        List<Battle> battles = [B("a", "b", BattleWinner.ModelA, true), B("a", "b", BattleWinner.ModelB, false), B("a", "b", BattleWinner.ModelB, false), B("a", "b", BattleWinner.ModelA, null)];

        Assert.Equal(4, PairwiseCounts.From(battles, ArenaScope.Overall).Battles);
        Assert.Equal(1, PairwiseCounts.From(battles, ArenaScope.Instrumental).Battles);
        Assert.Equal(2, PairwiseCounts.From(battles, ArenaScope.Vocal).Battles);
    }
}
