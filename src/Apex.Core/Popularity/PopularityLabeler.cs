namespace Apex.Core.Popularity;

/// <summary>One engagement count to turn into a label.</summary>
public sealed record EngagementCount(string TrackId, string Platform, long Count);

/// <summary>The label of one track: its percentile within its platform and its popularity score.</summary>
public sealed record PopularityLabel(string TrackId, string Platform, long Count, double Percentile, double Score);

/// <summary>Labels and the rows that are not labels (zero counts), in input order.</summary>
public sealed record PopularityLabels(IReadOnlyList<PopularityLabel> Labels, IReadOnlyList<EngagementCount> ZeroCounts);

/// <summary>Applies <see cref="PopularityScore"/> per platform; zero counts are not labels.</summary>
public static class PopularityLabeler
{
    public static PopularityLabels Label(IReadOnlyList<EngagementCount> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var percentiles = Percentiles(rows.Select(r => r.Platform).ToList(), rows.Select(r => r.Count).ToList());
        var labels = new List<PopularityLabel>();
        var zero = new List<EngagementCount>();
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (percentiles[i] is { } p)
            {
                labels.Add(new PopularityLabel(row.TrackId, row.Platform, row.Count, p, PopularityScore.FromPercentile(p)));
            }
            else
            {
                zero.Add(row);
            }
        }

        return new PopularityLabels(labels, zero);
    }

    /// <summary>Popularity scores in input order, each within its platform; null where the count is zero.</summary>
    public static float?[] Scores(IReadOnlyList<string> platforms, IReadOnlyList<long> counts) =>
        Percentiles(platforms, counts).Select(p => p is { } v ? (float?)PopularityScore.FromPercentile(v) : null).ToArray();

    /// <summary>Percentile ranks in input order, each within its platform; null where the count is zero.</summary>
    public static double?[] Percentiles(IReadOnlyList<string> platforms, IReadOnlyList<long> counts)
    {
        ArgumentNullException.ThrowIfNull(platforms);
        ArgumentNullException.ThrowIfNull(counts);
        if (platforms.Count != counts.Count)
        {
            throw new ArgumentException($"{platforms.Count} platforms for {counts.Count} counts.");
        }

        var byPlatform = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < counts.Count; i++)
        {
            if (counts[i] < 0)
            {
                throw new ArgumentException($"Row {i} has a negative count ({counts[i]}).", nameof(counts));
            }

            if (counts[i] > 0)
            {
                if (!byPlatform.TryGetValue(platforms[i], out var members))
                {
                    byPlatform[platforms[i]] = members = [];
                }

                members.Add(i);
            }
        }

        var percentiles = new double?[counts.Count];
        foreach (var members in byPlatform.Values)
        {
            var ranks = PopularityScore.PercentileRanks(members.Select(i => (double)counts[i]).ToArray());
            for (var j = 0; j < members.Count; j++)
            {
                percentiles[members[j]] = ranks[j];
            }
        }

        return percentiles;
    }
}
