namespace Apex.Core.Popularity;

/// <summary>
/// One song's engagement as the labeler reads it: counts, platform, when it was created (null when not
/// known) and a hash of its audio content (null when not known) that finds duplicates.
/// </summary>
public sealed record SongCounts(string TrackId, string Platform, long Streams, long Likes, DateTimeOffset? CreatedAt = null, string? ContentHash = null);
