using Apex.Grains.Events;

namespace Apex.Grains.Ingest;

/// <summary>An event's payload as first logged, kept to tell a re-sent id's duplicate from a conflict.</summary>
public readonly record struct LoggedPayload(EventKind Kind, long Count, long UtcTicks)
{
    public static LoggedPayload Of(EngagementEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new LoggedPayload(e.Kind, e.Count, e.Timestamp.UtcTicks);
    }

    public IngestOutcome Classify(EngagementEvent resent) =>
        ResentEvents.Classify(resent, Kind, Count, new DateTimeOffset(UtcTicks, TimeSpan.Zero));
}

/// <summary>An accepted event and its number in its track: what a commit logs.</summary>
public readonly record struct NumberedEvent(EngagementEvent Event, long TrackSeq);

/// <summary>
/// A classified group of batches: each batch's answer (with the totals every track it named has after the
/// group), the accepted events to log, in order, and the new totals of the tracks they changed.
/// </summary>
public sealed record ClassifiedGroup(IngestResult[] Results, IReadOnlyList<NumberedEvent> Accepted, IReadOnlyDictionary<string, TrackTotals> Changed);

/// <summary>
/// The one classification of a group of batches, for both ingest logs: each event is for an unknown
/// track, a re-sent id (duplicate or conflict, <see cref="ResentEvents"/>), or accepted with its track's
/// next number, and the totals follow the accepted events. The logs differ only in where the totals
/// and the logged ids come from (memory on SQLite, locked rows on PostgreSQL) and in how they write.
/// </summary>
public static class BatchClassifier
{
    /// <param name="group">The batches, in the order they arrived.</param>
    /// <param name="totalsOf">A known track's totals before the group; null for an unknown track.</param>
    /// <param name="loggedOf">The payload logged before the group under the event's (track, id); null when none was.</param>
    public static ClassifiedGroup Classify(
        IReadOnlyList<IReadOnlyList<EngagementEvent>> group,
        Func<string, TrackTotals?> totalsOf,
        Func<EngagementEvent, LoggedPayload?> loggedOf)
    {
        ArgumentNullException.ThrowIfNull(group);
        var changed = new Dictionary<string, TrackTotals>(StringComparer.Ordinal);
        var loggedNow = new Dictionary<(string Track, string Event), LoggedPayload>();
        var accepted = new List<NumberedEvent>();
        var perBatch = new List<(IngestOutcome[] Outcomes, List<LoggedEvent> Accepted, List<string> Named)>(group.Count);
        foreach (var events in group)
        {
            var outcomes = new IngestOutcome[events.Count];
            var acceptedHere = new List<LoggedEvent>();
            var named = new List<string>();
            var namedSet = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < outcomes.Length; i++)
            {
                var e = events[i];
                var totals = changed.TryGetValue(e.TrackId, out var now) ? now : totalsOf(e.TrackId);
                if (totals is null)
                {
                    outcomes[i] = IngestOutcome.UnknownTrack;
                    continue;
                }

                // A duplicate's track is reported too: a client retrying after a failed hand-off then
                // brings the population the totals it missed.
                if (namedSet.Add(e.TrackId))
                {
                    named.Add(e.TrackId);
                }

                if ((loggedNow.TryGetValue((e.TrackId, e.EventId), out var before) ? before : loggedOf(e)) is { } logged)
                {
                    outcomes[i] = logged.Classify(e);
                    continue;
                }

                var seq = totals.LastSeq + 1;
                changed[e.TrackId] = Advance(totals, e.Kind, e.Count, seq);
                loggedNow[(e.TrackId, e.EventId)] = LoggedPayload.Of(e);
                accepted.Add(new NumberedEvent(e, seq));
                acceptedHere.Add(new LoggedEvent(e.TrackId, seq, e.Kind, e.Count));
                outcomes[i] = IngestOutcome.Accepted;
            }

            perBatch.Add((outcomes, acceptedHere, named));
        }

        var results = perBatch
            .Select(b => new IngestResult(b.Outcomes, b.Accepted, b.Named.Select(t => changed.TryGetValue(t, out var now) ? now : totalsOf(t)!).ToList()))
            .ToArray();
        return new ClassifiedGroup(results, accepted, changed);
    }

    /// <summary>
    /// A track's totals after its <paramref name="seq"/>-th event. Every kind is counted in its own total;
    /// a kind this switch does not name throws rather than being counted as another.
    /// </summary>
    public static TrackTotals Advance(TrackTotals totals, EventKind kind, long count, long seq)
    {
        ArgumentNullException.ThrowIfNull(totals);
        return kind switch
        {
            EventKind.Stream => totals with { LastSeq = seq, Streams = totals.Streams + count },
            EventKind.Like => totals with { LastSeq = seq, Likes = totals.Likes + count },
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "An event kind the ingest logs do not count."),
        };
    }
}
