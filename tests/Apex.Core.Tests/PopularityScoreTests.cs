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

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Percentiles_outside_0_1_are_refused(double p) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PopularityScore.FromPercentile(p));

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.37)]
    [InlineData(0.8)]
    [InlineData(1.0)]
    public void A_score_maps_back_to_its_percentile(double p) =>
        Assert.Equal(p, PopularityScore.ToPercentile(PopularityScore.FromPercentile(p)), 12);
}
