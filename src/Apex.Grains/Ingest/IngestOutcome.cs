using Apex.Grains.Events;

namespace Apex.Grains.Ingest;

/// <summary>What happened to one event of a batch.</summary>
public enum IngestOutcome
{
    Accepted,
    Duplicate,
    UnknownTrack,
}

/// <summary>
/// The outcome of every event of a batch, in batch order, the accepted events as logged, and the
/// totals after the commit of every known track the batch named (accepted or duplicate).
/// </summary>
public sealed record IngestResult(IReadOnlyList<IngestOutcome> Outcomes, IReadOnlyList<LoggedEvent> Accepted, IReadOnlyList<TrackTotals> Totals);
