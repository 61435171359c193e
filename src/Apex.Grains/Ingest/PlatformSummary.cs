namespace Apex.Grains.Ingest;

/// <summary>A platform at a glance: its registered tracks and their streams and likes, summed.</summary>
public sealed record PlatformSummary(long Tracks, long Streams, long Likes);
