using MathNet.Numerics.Statistics;

namespace Apex.Core.Popularity;

/// <summary>
/// The APEX popularity score: p = percentile rank of a count within its population
/// (average rank of ties / N, as pandas <c>rank(pct=True)</c>), score = 100 · p^k with
/// k = ln 0.5 / ln 0.8, so the 80th percentile scores 50.
/// </summary>
public static class PopularityScore
{
    /// <summary>k = ln 0.5 / ln 0.8 ≈ 3.106.</summary>
    public static readonly double Exponent = Math.Log(0.5) / Math.Log(0.8);

    /// <summary>Maps a percentile rank in (0, 1] to a score in (0, 100].</summary>
    public static double FromPercentile(double percentile)
    {
        if (double.IsNaN(percentile) || percentile < 0 || percentile > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "A percentile rank lies in [0, 1].");
        }

        return 100.0 * Math.Pow(percentile, Exponent);
    }

    /// <summary>The percentile rank a score in [0, 100] comes from (the transform's inverse).</summary>
    public static double ToPercentile(double score)
    {
        if (double.IsNaN(score) || score < 0 || score > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(score), score, "A popularity score lies in [0, 100].");
        }

        return Math.Pow(score / 100.0, 1.0 / Exponent);
    }

    /// <summary>Percentile ranks (average rank of ties / N) of every value in the population.</summary>
    public static double[] PercentileRanks(ReadOnlySpan<double> counts)
    {
        var values = counts.ToArray();
        if (!Array.TrueForAll(values, double.IsFinite))
        {
            throw new ArgumentException("Counts must be finite numbers.", nameof(counts));
        }

        var ranks = values.Ranks(RankDefinition.Average);
        for (var i = 0; i < ranks.Length; i++)
        {
            ranks[i] /= ranks.Length;
        }

        return ranks;
    }
}
