using Apex.Grains.Events;

namespace Apex.Grains.Ingest;

/// <summary>
/// Accepts a batch of events: logs it durably (the acknowledgement), then hands the touched tracks'
/// new totals to their track grains and platform populations. That hand-off is derived data: if it is
/// lost, an activation reloads the same totals from the log.
/// </summary>
public sealed class EventIngestor(IIngestLog log, IGrainFactory grains)
{
    public async Task<IngestResult> IngestAsync(IReadOnlyList<EngagementEvent> batch, CancellationToken cancellationToken = default)
    {
        var result = await log.AppendAsync(batch, cancellationToken);
        var updates = result.Totals.Select(t => grains.GetGrain<ITrackGrain>(t.TrackId).ApplyTotalsAsync(t))
            .Concat(result.Totals.GroupBy(t => t.Platform).Select(p => grains.GetGrain<IPopulationGrain>(p.Key).UpdateAsync(p.ToList())));
        await Task.WhenAll(updates);
        return result;
    }
}
