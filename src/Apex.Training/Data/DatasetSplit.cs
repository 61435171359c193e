namespace Apex.Training.Data;

/// <summary>Song indices of the three parts of a dataset.</summary>
public sealed record DatasetSplit(int[] Train, int[] Test, int[] Validation)
{
    /// <summary>
    /// 85 / 10 / 5 train / test / validation, stratified by streams-score decile (songs without a streams
    /// score form their own stratum), shuffled with <paramref name="seed"/>.
    /// </summary>
    public static DatasetSplit Stratified(IReadOnlyList<float?> streams, int seed, double trainShare = 0.85, double testShare = 0.10)
    {
        ArgumentNullException.ThrowIfNull(streams);
        var random = new Random(seed);
        var strata = Enumerable.Range(0, streams.Count).GroupBy(i => streams[i] is { } s ? Math.Min(9, (int)(s / 10)) : -1).OrderBy(g => g.Key);
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
