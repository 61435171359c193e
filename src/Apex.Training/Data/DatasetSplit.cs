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
    /// </summary>
    public static DatasetSplit Stratified(IReadOnlyList<float?> streams, int seed, double trainShare = 0.85, double testShare = 0.10)
    {
        ArgumentNullException.ThrowIfNull(streams);
        var random = new Random(seed);
        var strata = Enumerable.Range(0, streams.Count)
            .GroupBy(i => streams[i] is { } s ? SongLabeler.Decile(PopularityScore.ToPercentile(Math.Clamp(s, 0, 100))) : -1)
            .OrderBy(g => g.Key);
        List<int> train = [], test = [], validation = [];
        foreach (var stratum in strata)
        {
            var members = stratum.ToArray();
            random.Shuffle(members);
            var nTrain = (int)Math.Round(members.Length * trainShare);
            var nTest = (int)Math.Round(members.Length * testShare);
            train.AddRange(members[..nTrain]);
            test.AddRange(members[nTrain..Math.Min(members.Length, nTrain + nTest)]);
            validation.AddRange(members[Math.Min(members.Length, nTrain + nTest)..]);
        }

        return new DatasetSplit([.. train.Order()], [.. test.Order()], [.. validation.Order()]);
    }
}
