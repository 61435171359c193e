namespace Apex.Core.Popularity;

/// <summary>Why a song left the dataset.</summary>
public enum DropReason
{
    ZeroStreams,
    TooYoung,
    Duplicate,
    Balanced,
}

/// <summary>A kept song with its labels: percentile ranks in (0, 1] and popularity scores in (0, 100]; no likes label when zero likes are unlabelled.</summary>
public sealed record SongLabel(SongCounts Song, double StreamsPercentile, double StreamsScore, double? LikesPercentile, double? LikesScore);

/// <summary>A song that left the dataset, with the reason in words.</summary>
public sealed record DroppedSong(SongCounts Song, DropReason Reason, string Detail);

/// <summary>The labeler's answer: kept songs in input order, and every dropped one with its reason.</summary>
public sealed record SongLabels(IReadOnlyList<SongLabel> Kept, IReadOnlyList<DroppedSong> Dropped)
{
    public int DroppedFor(DropReason reason) => Dropped.Count(d => d.Reason == reason);
}
