using Apex.Grains.Events;

namespace Apex.Grains.Ingest;

/// <summary>
/// Accepts a batch of events: logs it durably (the acknowledgement), then hands the touched tracks'
/// new totals to their platforms' population grains, one call per platform. Track grains are not
/// called per batch (a batch touches hundreds of tracks; that fan-out halved the ingest rate): they
/// read their totals from the log when asked. The hand-off is derived data: a lost one is reloaded
/// from the log on the population's next activation.
/// </summary>
public sealed class EventIngestor(IIngestLog log, IGrainFactory grains, IngestMetrics? metrics = null)
{
    public async Task<IngestResult> IngestAsync(IReadOnlyList<EngagementEvent> batch, CancellationToken cancellationToken = default)
    {
        var result = await log.AppendAsync(batch, cancellationToken);
        metrics?.Record(result);
        await Task.WhenAll(result.Totals.GroupBy(t => t.Platform).Select(p => grains.GetGrain<IPopulationGrain>(p.Key).UpdateAsync(p.ToList())));
        return result;
    }
}
