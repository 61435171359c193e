namespace Apex.Grains;

/// <summary>A platform at a glance: its registered tracks and their streams and likes, summed.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.PlatformSummary")]
public sealed record PlatformSummary([property: Id(0)] long Tracks, [property: Id(1)] long Streams, [property: Id(2)] long Likes);
