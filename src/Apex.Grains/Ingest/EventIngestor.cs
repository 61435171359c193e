using Apex.Grains.Events;
using Apex.Grains.Populations;

namespace Apex.Grains.Ingest;

/// <summary>
/// Accepts a batch of events: logs it durably (the acknowledgement), then hands the touched tracks'
/// new totals to their platforms' population grains. Track grains are not called per batch (a batch
/// touches hundreds of tracks; that fan-out halved the ingest rate): they read their totals from the
/// log when asked. The hand-off is derived data: once the commit is done the batch is acknowledged,
/// whatever happens to the hand-off (<see cref="PopulationHandoff"/> retries it in the background).
/// </summary>
public sealed class EventIngestor(IIngestLog log, PopulationHandoff handoff, IngestMetrics? metrics = null)
{
    public async Task<IngestResult> IngestAsync(IReadOnlyList<EngagementEvent> batch, CancellationToken cancellationToken = default)
    {
        var result = await log.AppendAsync(batch, cancellationToken);
        metrics?.Record(result);
        await handoff.HandAsync(result.Totals, cancellationToken);
        return result;
    }
}
