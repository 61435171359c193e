namespace Apex.Grains.Events;

/// <summary>What an engagement event counts.</summary>
public enum EventKind
{
    Stream,
    Like,
}

/// <summary>
/// One streams/likes event as a platform sends it; <see cref="EventId"/> is the client's, unique per
/// track. <see cref="TimestampGiven"/> is false when the server stamped it (the client sent no ts), so a
/// re-send is compared on kind and count alone.
/// </summary>
[GenerateSerializer]
[Alias("Apex.Grains.Events.EngagementEvent")]
public sealed record EngagementEvent(
    [property: Id(0)] string EventId,
    [property: Id(1)] string TrackId,
    [property: Id(2)] EventKind Kind,
    [property: Id(3)] long Count,
    [property: Id(4)] DateTimeOffset Timestamp,
    [property: Id(5)] bool TimestampGiven = true);

/// <summary>An event as the ingest log stored it: numbered per track, contiguously from 1.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Events.LoggedEvent")]
public sealed record LoggedEvent(
    [property: Id(0)] string TrackId,
    [property: Id(1)] long TrackSeq,
    [property: Id(2)] EventKind Kind,
    [property: Id(3)] long Count);
