using Apex.Core.Popularity;
using Apex.Grains.Events;
using Apex.Grains.Ingest;

namespace Apex.Grains.Populations;

/// <summary>
/// Keeps a platform's streams and likes distributions in memory (exact, O(log n) per update and read);
/// on activation it loads every track's totals from the ingest log, which is durable, so it keeps no
/// state of its own. Zero counts are not labels and stay out of the distributions.
/// </summary>
public sealed class PopulationGrain(IIngestLog log) : Grain, IPopulationGrain
{
    private readonly Dictionary<string, TrackTotals> _tracks = new(StringComparer.Ordinal);
    private readonly CountDistribution _streams = new();
    private readonly CountDistribution _likes = new();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var totals in await log.ReadPlatformTotalsAsync(this.GetPrimaryKeyString(), cancellationToken))
        {
            Set(totals);
        }
    }

    Task IPopulationGrain.UpdateAsync(IReadOnlyList<TrackTotals> totals)
    {
        foreach (var t in totals)
        {
            Set(t);
        }

        return Task.CompletedTask;
    }

    Task<PopularityView> IPopulationGrain.RankAsync(long streams, long likes)
    {
        var (sp, ss) = Rank(_streams, streams);
        var (lp, ls) = Rank(_likes, likes);
        return Task.FromResult(new PopularityView(_streams.Total, sp, ss, _likes.Total, lp, ls));
    }

    private static (double? Percentile, double? Score) Rank(CountDistribution distribution, long count)
    {
        if (count <= 0 || distribution.Total == 0)
        {
            return (null, null);
        }

        var p = distribution.Percentile(count);
        return (p, PopularityScore.FromPercentile(p));
    }

    private void Set(TrackTotals totals)
    {
        // Hand-offs from concurrent commits can arrive out of order: a track's totals only move forward.
        var old = _tracks.GetValueOrDefault(totals.TrackId);
        if (old is not null && old.LastSeq >= totals.LastSeq)
        {
            return;
        }

        Replace(_streams, old?.Streams ?? 0, totals.Streams);
        Replace(_likes, old?.Likes ?? 0, totals.Likes);
        _tracks[totals.TrackId] = totals;
    }

    private static void Replace(CountDistribution distribution, long from, long to)
    {
        if (from == to)
        {
            return;
        }

        if (from > 0)
        {
            distribution.Remove(from);
        }

        if (to > 0)
        {
            distribution.Add(to);
        }
    }
}
