using Apex.Grains.Events;

namespace Apex.Grains.Ingest;

/// <summary>What happened to one event of a batch.</summary>
public enum IngestOutcome
{
    Accepted,

    /// <summary>The event id was logged before with the same payload: acknowledged, not counted again.</summary>
    Duplicate,

    UnknownTrack,

    /// <summary>The event id was logged before with another payload: refused, counts unchanged.</summary>
    Conflict,
}

/// <summary>
/// Tells a re-sent event id's duplicate (the same payload as logged: kind, count, and the timestamp when
/// the client gave one, to the microsecond both databases keep) from a conflict. Both ingest logs use it.
/// </summary>
public static class ResentEvents
{
    public static IngestOutcome Classify(EngagementEvent resent, EventKind kind, long count, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(resent);
        var same = resent.Kind == kind && resent.Count == count
            && (!resent.TimestampGiven || Math.Abs(resent.Timestamp.UtcTicks - timestamp.UtcTicks) < TimeSpan.TicksPerMicrosecond);
        return same ? IngestOutcome.Duplicate : IngestOutcome.Conflict;
    }

    /// <summary>The outcome's name in answers and metrics; every outcome has one (a new one fails here, not silently).</summary>
    public static string Name(IngestOutcome outcome) => outcome switch
    {
        IngestOutcome.Accepted => "accepted",
        IngestOutcome.Duplicate => "duplicate",
        IngestOutcome.UnknownTrack => "unknown_track",
        IngestOutcome.Conflict => "conflict",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };
}

/// <summary>
/// The outcome of every event of a batch, in batch order, the accepted events as logged, and the
/// totals after the commit of every known track the batch named (accepted or duplicate).
/// </summary>
public sealed record IngestResult(IReadOnlyList<IngestOutcome> Outcomes, IReadOnlyList<LoggedEvent> Accepted, IReadOnlyList<TrackTotals> Totals);
