using Apex.Core.Popularity;

namespace Apex.Training.Data;

/// <summary>Song indices of the three parts of a dataset.</summary>
public sealed record DatasetSplit(int[] Train, int[] Test, int[] Validation)
{
    /// <summary>
    /// 85 / 10 / 5 train / test / validation, stratified by the decile of the streams percentile (the
    /// percentile the score was made from; songs without a streams score form their own stratum),
    /// shuffled with <paramref name="seed"/>. Deciles of the percentile hold a tenth of the songs each;
    /// equal-width score bands would put most songs in the lowest bands, the score being right-skewed.
    /// The test and validation sizes are those shares of the whole set, handed to the strata in
    /// proportion (largest remainders first), so that a small set (a live cluster's first runs) still
    /// gets a test part where rounding each stratum on its own would leave none.
    /// </summary>
    public static DatasetSplit Stratified(IReadOnlyList<float?> streams, int seed, double trainShare = 0.85, double testShare = 0.10)
    {
        ArgumentNullException.ThrowIfNull(streams);
        var random = new Random(seed);
        var strata = Enumerable.Range(0, streams.Count)
            .GroupBy(i => streams[i] is { } s ? SongLabeler.Decile(PopularityScore.ToPercentile(Math.Clamp(s, 0, 100))) : -1)
            .OrderBy(g => g.Key)
            .Select(g =>
            {
                var members = g.ToArray();
                random.Shuffle(members);
                return members;
            })
            .ToList();
        var test = Quotas(strata, streams.Count, testShare, random);
        var validation = Quotas(strata, streams.Count, 1 - trainShare - testShare, random);
        List<int> trainPart = [], testPart = [], validationPart = [];
        for (var s = 0; s < strata.Count; s++)
        {
            var members = strata[s];
            var nTest = Math.Min(test[s], members.Length);
            var nValidation = Math.Min(validation[s], members.Length - nTest);
            testPart.AddRange(members[..nTest]);
            validationPart.AddRange(members[nTest..(nTest + nValidation)]);
            trainPart.AddRange(members[(nTest + nValidation)..]);
        }

        return new DatasetSplit([.. trainPart.Order()], [.. testPart.Order()], [.. validationPart.Order()]);
    }

    /// <summary>
    /// round(total × share) songs over the strata in proportion to their sizes: floors first, then one more
    /// to the largest remainders, equal remainders in a seeded random order (not always the lowest strata).
    /// </summary>
    private static int[] Quotas(List<int[]> strata, int total, double share, Random random)
    {
        var exact = strata.Select(s => s.Length * share).ToArray();
        var quotas = exact.Select(e => (int)Math.Floor(e)).ToArray();
        var left = (int)Math.Round(total * share, MidpointRounding.AwayFromZero) - quotas.Sum();
        var ties = Enumerable.Range(0, strata.Count).Select(_ => random.Next()).ToArray();
        foreach (var s in Enumerable.Range(0, strata.Count).OrderByDescending(s => Math.Round(exact[s] - quotas[s], 9)).ThenBy(s => ties[s]).Take(Math.Max(0, left)))
        {
            quotas[s]++;
        }

        return quotas;
    }
}
