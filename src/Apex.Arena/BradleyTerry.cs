using MathNet.Numerics.Distributions;
using MathNet.Numerics.LinearAlgebra;

namespace Apex.Arena;

/// <summary>
/// Bradley-Terry maximum likelihood on the pairwise counts: P(i beats j) = σ(θ_i − θ_j), a tie counted
/// as half a win each way (the arena convention), solved by Newton's method on the sufficient
/// statistics (n × n, a few iterations) with a tiny ridge so that a system that never lost still has
/// a finite strength. Written here because no library on the mirror fits BT on aggregated counts; the
/// linear algebra is MathNet's. Ratings are on the 400·log10 scale, centred at 1000.
/// </summary>
public static class BradleyTerry
{
    /// <summary>Ridge on θ: small against any real count, enough to keep an unbeaten system finite.</summary>
    public const double Ridge = 1e-6;

    public const double Scale = 400 / 2.302585092994046; // 400 / ln 10

    /// <summary>The MLE strengths θ (natural log-odds, mean 0).</summary>
    public static double[] Fit(PairwiseCounts counts, int maxIterations = 100)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var cells = counts.Cells.Select(c => (c.A, c.B, WinA: c.WinsA + c.Ties / 2, WinB: c.WinsB + c.Ties / 2)).ToArray();
        return Fit(counts.Systems.Count, cells, maxIterations);
    }

    /// <summary>θ from cells of (a, b, a's wins, b's wins) over <paramref name="systems"/> systems.</summary>
    public static double[] Fit(int systems, IReadOnlyList<(int A, int B, double WinA, double WinB)> cells, int maxIterations = 100)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var theta = new double[systems];
        if (systems < 2)
        {
            return theta;
        }

        var total = cells.Sum(c => c.WinA + c.WinB);
        var ridge = Ridge * Math.Max(1, total / systems);
        WarmStart(systems, cells, theta);
        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            var gradient = new double[systems];
            // Column-major storage that MathNet wraps without copying; filled directly, not through its indexer.
            var h = new double[systems * systems];
            for (var i = 0; i < systems; i++)
            {
                gradient[i] = -ridge * theta[i];
                h[(i * systems) + i] = ridge;
            }

            foreach (var (a, b, winA, winB) in cells)
            {
                var n = winA + winB;
                if (n <= 0)
                {
                    continue;
                }

                var p = 1 / (1 + Math.Exp(theta[b] - theta[a]));
                var g = winA - n * p;
                gradient[a] += g;
                gradient[b] -= g;
                var w = n * p * (1 - p);
                h[(a * systems) + a] += w;
                h[(b * systems) + b] += w;
                h[(b * systems) + a] -= w;
                h[(a * systems) + b] -= w;
            }

            // The negative Hessian is positive definite thanks to the ridge.
            var step = Matrix<double>.Build.Dense(systems, systems, h).Cholesky().Solve(Vector<double>.Build.Dense(gradient));
            var largest = 0.0;
            for (var i = 0; i < systems; i++)
            {
                theta[i] += step[i];
                largest = Math.Max(largest, Math.Abs(step[i]));
            }

            // A step of 1e-6 in θ is 0.0003 rating points, far below the 0.1 a board shows; Newton's next
            // step would be smaller still (quadratic convergence).
            if (largest < 1e-6)
            {
                break;
            }
        }

        var mean = theta.Average();
        return theta.Select(t => t - mean).ToArray();
    }

    /// <summary>
    /// A few minorize-maximize sweeps (Hunter 2004), each O(cells): cheap, and they bring θ close enough
    /// that Newton (O(n³) per step for its Cholesky) needs about half the steps it would from zero.
    /// </summary>
    private static void WarmStart(int systems, IReadOnlyList<(int A, int B, double WinA, double WinB)> cells, double[] theta)
    {
        var wins = new double[systems];
        foreach (var (a, b, winA, winB) in cells)
        {
            wins[a] += winA;
            wins[b] += winB;
        }

        var strength = theta.Select(Math.Exp).ToArray();
        var denominator = new double[systems];
        for (var sweep = 0; sweep < 8; sweep++)
        {
            Array.Clear(denominator);
            foreach (var (a, b, winA, winB) in cells)
            {
                var games = winA + winB;
                var share = games / (strength[a] + strength[b]);
                denominator[a] += share;
                denominator[b] += share;
            }

            for (var i = 0; i < systems; i++)
            {
                // A system without wins (or games) keeps its strength: Newton's ridge settles it.
                if (wins[i] > 0 && denominator[i] > 0)
                {
                    strength[i] = wins[i] / denominator[i];
                }
            }

            var logMean = strength.Average(Math.Log);
            for (var i = 0; i < systems; i++)
            {
                strength[i] /= Math.Exp(logMean);
            }
        }

        for (var i = 0; i < systems; i++)
        {
            theta[i] = Math.Log(strength[i]);
        }
    }

    /// <summary>θ on the arena scale: 1000 + 400·log10 odds, mean 1000.</summary>
    public static double[] Ratings(double[] theta) => theta.Select(t => 1000 + (Scale * t)).ToArray();

    /// <summary>
    /// Percentile intervals from <paramref name="resamples"/> bootstrap resamples of the battles, run in
    /// parallel and seeded (resample r uses seed + r, so the result does not depend on the thread count).
    /// A resample of N battles is drawn as a Poisson bootstrap on the cells (each cell's count ~ Poisson
    /// of its count): the standard large-N stand-in for the multinomial, O(cells) instead of O(N).
    /// </summary>
    public static (double[] Low, double[] High) Intervals(PairwiseCounts counts, int resamples, int seed, double level = 0.95)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var n = counts.Systems.Count;
        var raw = counts.Cells.ToArray();
        var samples = new double[resamples][];
        Parallel.For(0, resamples, r =>
        {
            var random = new Random(seed + r);
            var cells = new (int A, int B, double WinA, double WinB)[raw.Length];
            for (var k = 0; k < raw.Length; k++)
            {
                var (a, b, winsA, winsB, ties) = raw[k];
                var wa = Draw(random, winsA);
                var wb = Draw(random, winsB);
                var t = Draw(random, ties);
                cells[k] = (a, b, wa + t / 2, wb + t / 2);
            }

            samples[r] = Ratings(Fit(n, cells));
        });

        var low = new double[n];
        var high = new double[n];
        var tail = (1 - level) / 2;
        for (var i = 0; i < n; i++)
        {
            var values = samples.Select(s => s[i]).Order().ToArray();
            low[i] = Quantile(values, tail);
            high[i] = Quantile(values, 1 - tail);
        }

        return (low, high);
    }

    private static double Draw(Random random, double mean) => mean <= 0 ? 0 : Poisson.Sample(random, mean);

    private static double Quantile(double[] sorted, double q)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var position = q * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(sorted.Length - 1, lower + 1);
        return sorted[lower] + ((position - lower) * (sorted[upper] - sorted[lower]));
    }
}

/// <summary>Online Elo as arenas keep it beside Bradley-Terry: K = 4, base 1000, 400-point scale; both-bad and same-system battles skipped.</summary>
public static class Elo
{
    public const double K = 4;

    public static Dictionary<string, double> Run(IEnumerable<Battle> battles, double k = K, double initial = 1000)
    {
        ArgumentNullException.ThrowIfNull(battles);
        var ratings = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var battle in battles)
        {
            Apply(ratings, battle.ModelA, battle.ModelB, battle.Winner, k, initial);
        }

        return ratings;
    }

    /// <summary>One battle's update, in place.</summary>
    public static void Apply(Dictionary<string, double> ratings, string modelA, string modelB, BattleWinner winner, double k = K, double initial = 1000)
    {
        ArgumentNullException.ThrowIfNull(ratings);
        if (string.Equals(modelA, modelB, StringComparison.Ordinal))
        {
            return; // two tracks of one system: nothing to learn about systems
        }

        var ra = ratings.GetValueOrDefault(modelA, initial);
        var rb = ratings.GetValueOrDefault(modelB, initial);
        if (winner == BattleWinner.BothBad)
        {
            ratings[modelA] = ra;
            ratings[modelB] = rb;
            return;
        }

        var expectedA = 1 / (1 + Math.Pow(10, (rb - ra) / 400));
        var scoreA = winner switch { BattleWinner.ModelA => 1.0, BattleWinner.ModelB => 0.0, _ => 0.5 };
        ratings[modelA] = ra + (k * (scoreA - expectedA));
        ratings[modelB] = rb - (k * (scoreA - expectedA));
    }
}
