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
        var zero = new List<EngagementCount>();
        var byPlatform = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (row.Count < 0)
            {
                throw new ArgumentException($"Track '{row.TrackId}' has a negative count ({row.Count}).", nameof(rows));
            }

            if (row.Count == 0)
            {
                zero.Add(row);
                continue;
            }

            if (!byPlatform.TryGetValue(row.Platform, out var members))
            {
                byPlatform[row.Platform] = members = [];
            }

            members.Add(i);
        }

        var labels = new PopularityLabel?[rows.Count];
        foreach (var members in byPlatform.Values)
        {
            var counts = members.Select(i => (double)rows[i].Count).ToArray();
            var percentiles = PopularityScore.PercentileRanks(counts);
            for (var j = 0; j < members.Count; j++)
            {
                var row = rows[members[j]];
                labels[members[j]] = new PopularityLabel(row.TrackId, row.Platform, row.Count, percentiles[j], PopularityScore.FromPercentile(percentiles[j]));
            }
        }

        return new PopularityLabels(labels.OfType<PopularityLabel>().ToList(), zero);
    }
}
