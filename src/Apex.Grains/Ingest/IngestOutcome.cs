using Apex.Grains.Events;

namespace Apex.Grains.Ingest;

/// <summary>What happened to one event of a batch.</summary>
public enum IngestOutcome
{
    Accepted,
    Duplicate,
    UnknownTrack,
}

/// <summary>The outcome of every event of a batch, in batch order, and the accepted events as logged.</summary>
public sealed record IngestResult(IReadOnlyList<IngestOutcome> Outcomes, IReadOnlyList<LoggedEvent> Accepted);
