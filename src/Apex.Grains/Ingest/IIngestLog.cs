using Apex.Grains.Events;
using Apex.Grains.Timelines;

namespace Apex.Grains.Ingest;

/// <summary>
/// The durable log of engagement events and each track's running totals, updated in the same
/// transaction: the source of truth that track and population grains load on activation.
/// </summary>
public interface IIngestLog : IAsyncDisposable
{
    /// <summary>
    /// The log's own I/O at start, once its database is known to agree with the other stores (the host's
    /// start-up step runs it before serving; construction does none).
    /// </summary>
    Task PrepareAsync(CancellationToken cancellationToken = default);

    /// <summary>Where commit timings go; set by the host once its meter factory exists.</summary>
    IngestMetrics? Metrics { get; set; }

    /// <summary>How long the curves keep their hourly and daily buckets; set by the host from its options.</summary>
    TimelineRetention Retention { get; set; }

    /// <summary>
    /// A track's curve: its buckets of one width that start in [<paramref name="since"/>, <paramref name="until"/>),
    /// oldest first, as of every acknowledged event (a bucket with no event is not stored).
    /// </summary>
    Task<IReadOnlyList<TimelinePoint>> ReadTimelineAsync(string trackId, BucketWidth width, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>The hourly buckets of many tracks that start at or after <paramref name="since"/> (what velocities are computed from).</summary>
    Task<IReadOnlyList<TrackPoint>> ReadHourlyAsync(IReadOnlyCollection<string> trackIds, DateTimeOffset since, CancellationToken cancellationToken = default);

    /// <summary>Makes a track known (events for unknown tracks are rejected). Idempotent.</summary>
    Task RegisterTrackAsync(string trackId, string platform, DateTimeOffset createdAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// Registers tracks in bulk, in one transaction, durable when it returns: each is created (its
    /// apex_tracks row and its whole registration in the catalogue), the same as already registered, or
    /// a conflict (registered with other details; a track registered one by one is compared on platform
    /// and creation time, the part of it the log holds). One outcome per entry, in order; a repeated id
    /// within the call meets the first. A created track's initial counts are logged in the same
    /// transaction as its first events; the result lists every created track's totals (its counts' or zero).
    /// </summary>
    Task<CatalogueResult> RegisterCatalogueAsync(IReadOnlyList<CatalogueEntry> entries, DateTimeOffset registeredAt, CancellationToken cancellationToken = default);

    /// <summary>A track registered in bulk, or null (unknown, or registered one by one).</summary>
    Task<CatalogueRecord?> ReadCatalogueAsync(string trackId, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> catalogued tracks after backfill position <paramref name="afterSeq"/>, in the order they were registered.</summary>
    Task<IReadOnlyList<BackfillItem>> ReadBackfillAsync(long afterSeq, int limit, CancellationToken cancellationToken = default);

    /// <summary>How many catalogued tracks lie after <paramref name="afterSeq"/>, and when the first of them was registered.</summary>
    Task<BackfillDepth> CountBackfillAsync(long afterSeq, CancellationToken cancellationToken = default);

    /// <summary>Deduplicates and logs a batch; returns once it is committed.</summary>
    Task<IngestResult> AppendAsync(IReadOnlyList<EngagementEvent> batch, CancellationToken cancellationToken = default);

    Task<TrackTotals?> ReadTotalsAsync(string trackId, CancellationToken cancellationToken = default);

    /// <summary>One cheap read that fails when the log's database cannot be reached (readiness, recovery).</summary>
    Task PingAsync(CancellationToken cancellationToken = default);

    /// <summary>Every platform with a registered track.</summary>
    Task<IReadOnlyList<string>> ListPlatformsAsync(CancellationToken cancellationToken = default);

    /// <summary>Every track of a platform, with its creation time: what its population grain loads.</summary>
    Task<IReadOnlyList<TrackTotals>> ReadPlatformTotalsAsync(string platform, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<LoggedEvent>> ReadAfterAsync(string trackId, long afterSeq, CancellationToken cancellationToken = default);

    /// <summary>
    /// Keeps the log bounded: drops each track's events older than its last <paramref name="window"/>
    /// (the totals already hold them); the rows kept are the dedup window. Returns the rows dropped.
    /// </summary>
    Task<int> CompactAsync(long window = SqliteIngestLog.DedupWindow, CancellationToken cancellationToken = default);
}
