namespace Apex.Grains.Events;

/// <summary>
/// A track's counts as of its <see cref="LastSeq"/>-th logged event, and when the track was created
/// (what its platform's newest-first listing orders by; default where a sender does not know it).
/// </summary>
[GenerateSerializer]
[Immutable] // never changed once made (a new total is a new record): local grain calls pass it without a copy
[Alias("Apex.Grains.Events.TrackTotals")]
public sealed record TrackTotals(
    [property: Id(0)] string TrackId,
    [property: Id(1)] string Platform,
    [property: Id(2)] long LastSeq,
    [property: Id(3)] long Streams,
    [property: Id(4)] long Likes,
    [property: Id(5)] DateTimeOffset CreatedAt = default);
