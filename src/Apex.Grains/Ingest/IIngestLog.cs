using Apex.Grains.Events;

namespace Apex.Grains.Ingest;

/// <summary>
/// The durable log of engagement events and each track's running totals, updated in the same
/// transaction: the source of truth that track and population grains load on activation.
/// </summary>
public interface IIngestLog
{
    /// <summary>Makes a track known (events for unknown tracks are rejected). Idempotent.</summary>
    Task RegisterTrackAsync(string trackId, string platform, CancellationToken cancellationToken = default);

    /// <summary>Deduplicates and logs a batch; returns once it is committed.</summary>
    Task<IngestResult> AppendAsync(IReadOnlyList<EngagementEvent> batch, CancellationToken cancellationToken = default);

    Task<TrackTotals?> ReadTotalsAsync(string trackId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<TrackTotals>> ReadPlatformTotalsAsync(string platform, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<LoggedEvent>> ReadAfterAsync(string trackId, long afterSeq, CancellationToken cancellationToken = default);
}
