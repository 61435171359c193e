namespace Apex.Grains.Timelines;

/// <summary>One bucket of one track's curve, in a read over many tracks.</summary>
public sealed record TrackPoint(string TrackId, DateTimeOffset Start, long Streams, long Likes);
