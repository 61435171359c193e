namespace Apex.Grains.Events;

/// <summary>A track's counts as of its <see cref="LastSeq"/>-th logged event.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Events.TrackTotals")]
public sealed record TrackTotals(
    [property: Id(0)] string TrackId,
    [property: Id(1)] string Platform,
    [property: Id(2)] long LastSeq,
    [property: Id(3)] long Streams,
    [property: Id(4)] long Likes);
