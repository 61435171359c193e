using Apex.Core.Popularity;

namespace Apex.Core.Tests;

// Expected values were computed independently with pandas 1.5.3 and NumPy 1.24.2 (Debian 12):
//   p = pd.Series(counts).rank(pct=True); score = 100 * p ** (np.log(0.5) / np.log(0.8))
public sealed class PopularityScoreTests
{
    [Fact]
    public void The_exponent_puts_the_80th_percentile_at_50()
    {
        Assert.Equal(3.1062837195053903, PopularityScore.Exponent, 1e-15);
        Assert.Equal(50.0, PopularityScore.FromPercentile(0.8), 1e-12);
        Assert.Equal(100.0, PopularityScore.FromPercentile(1.0), 1e-12);
    }

    [Fact]
    public void Percentile_ranks_average_ties_like_pandas()
    {
        double[] counts = [5, 1, 3, 3, 10, 0, 3, 7, 1, 2];

        var percentiles = PopularityScore.PercentileRanks(counts);

        Assert.Equal([0.8, 0.25, 0.6, 0.6, 1.0, 0.1, 0.6, 0.9, 0.25, 0.4], percentiles, (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Labels_exclude_zero_counts_and_rank_the_rest()
    {
        long[] counts = [5, 1, 3, 3, 10, 0, 3, 7, 1, 2];
        var rows = counts.Select((c, i) => new EngagementCount($"t{i}", "suno", c)).ToList();

        var result = PopularityLabeler.Label(rows);

        Assert.Equal(["t5"], result.ZeroCounts.Select(z => z.TrackId));
        double[] expected = [45.810634978810654, 0.38268499998700906, 16.10835430372274, 16.10835430372274, 100.0, 16.10835430372274, 69.35946783206323, 0.38268499998700906, 3.2955356513704035];
        Assert.Equal(expected, result.Labels.Select(l => l.Score), (a, b) => Math.Abs(a - b) < 1e-9);
        Assert.Equal(rows.Where(r => r.Count > 0).Select(r => r.TrackId), result.Labels.Select(l => l.TrackId));
    }

    [Fact]
    public void Each_platform_is_its_own_population()
    {
        var rows = new List<EngagementCount>
        {
            new("a", "suno", 10), new("b", "udio", 1), new("c", "suno", 20), new("d", "udio", 1000),
        };

        var labels = PopularityLabeler.Label(rows).Labels.ToDictionary(l => l.TrackId);

        // Within its own platform each track is either the lower or the top half.
        Assert.Equal(0.5, labels["a"].Percentile);
        Assert.Equal(0.5, labels["b"].Percentile);
        Assert.Equal(1.0, labels["c"].Percentile);
        Assert.Equal(1.0, labels["d"].Percentile);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Percentiles_outside_0_1_are_refused(double p) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PopularityScore.FromPercentile(p));

    [Fact]
    public void Negative_counts_are_refused() =>
        Assert.Throws<ArgumentException>(() => PopularityLabeler.Label([new EngagementCount("x", "suno", -3)]));
}
