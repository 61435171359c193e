using Apex.Core.Popularity;

namespace Apex.Core.Tests;

public sealed class CountDistributionTests
{
    [Fact]
    public void Percentiles_of_members_equal_pandas_rank_pct_as_the_population_changes()
    {
        var random = new Random(4);
        var distribution = new CountDistribution();
        var counts = new List<long>();
        for (var step = 0; step < 3_000; step++)
        {
            if (counts.Count > 0 && random.NextDouble() < 0.4)
            {
                // A track's count grows: the way streams and likes move.
                var i = random.Next(counts.Count);
                var grown = counts[i] + random.Next(1, 5);
                distribution.Move(counts[i], grown);
                counts[i] = grown;
            }
            else
            {
                var count = (long)random.Next(1, 60);
                distribution.Add(count);
                counts.Add(count);
            }

            if (step % 250 == 0)
            {
                // Independent computation: the same average-rank percentiles PopularityScore gives (checked against pandas).
                var expected = PopularityScore.PercentileRanks(counts.Select(c => (double)c).ToArray());
                for (var i = 0; i < counts.Count; i += 7)
                {
                    Assert.Equal(expected[i], distribution.Percentile(counts[i]), 12);
                }
            }
        }

        Assert.Equal(counts.Count, distribution.Total);
    }

    [Fact]
    public void Removing_a_count_nobody_holds_changes_nothing()
    {
        var distribution = new CountDistribution();
        distribution.Add(5);

        Assert.False(distribution.Remove(6));
        Assert.Equal(1, distribution.Total);
        Assert.Throws<InvalidOperationException>(() => distribution.Move(6, 7));
    }

    [Fact]
    public void A_count_nobody_holds_ranks_as_one_more_track()
    {
        var distribution = new CountDistribution();
        foreach (var c in new long[] { 1, 2, 3 })
        {
            distribution.Add(c);
        }

        // With 10 added the ranks would be 1,2,3,4 of 4: p(10) = 1.0; p(0) = 1/4.
        Assert.Equal(1.0, distribution.Percentile(10));
        Assert.Equal(0.25, distribution.Percentile(0));
        Assert.True(double.IsNaN(new CountDistribution().Percentile(3)));
    }

    [Fact]
    public void A_million_tracks_stay_exact()
    {
        var distribution = new CountDistribution();
        for (var i = 0; i < 1_000_000; i++)
        {
            distribution.Add(i % 1000);
        }

        // 1,000 tracks hold each count 0..999: 250 has 250,000 below and 1,000 ties.
        Assert.Equal((250_000L, 1_000L), distribution.Rank(250));
        Assert.Equal((250_000 + 500.5) / 1_000_000, distribution.Percentile(250), 15);
    }
}
