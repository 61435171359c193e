namespace Apex.Grains.Timelines;

/// <summary>A track's engagement in one bucket, by event time.</summary>
public sealed record TimelinePoint(DateTimeOffset Start, long Streams, long Likes);
