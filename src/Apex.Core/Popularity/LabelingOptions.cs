namespace Apex.Core.Popularity;

/// <summary>Whose counts a percentile rank is taken among.</summary>
public enum LabelPopulation
{
    /// <summary>Every song of the dataset (the paper: "percentile rank within the dataset").</summary>
    Dataset,

    /// <summary>The songs of the same platform (what the live cluster does: one population per platform).</summary>
    Platform,
}

/// <summary>What a song with zero likes (and some streams) gets as its likes label.</summary>
public enum ZeroLikes
{
    /// <summary>Ranked like any count: zero likes tie at the bottom (the paper applies the streams procedure to likes, and only zero-stream songs leave the dataset).</summary>
    Ranked,

    /// <summary>No likes label (the likes population is the songs with likes, as the streams population is the songs with streams).</summary>
    Unlabelled,
}

/// <summary>
/// How labels are built from engagement counts (the paper's §3.2.1 and §4.1): which population a
/// percentile is taken in, how zero likes are read, and the curation: songs younger than
/// <see cref="MinAgeDays"/> at <see cref="AsOf"/> leave the dataset, and with
/// <see cref="BalancePlatforms"/> the larger platforms are down-sampled to the smallest one's size,
/// stratified by streams-score decile.
/// </summary>
public sealed record LabelingOptions
{
    /// <summary>
    /// The live cluster's reading: one population per platform (its tracks compared with each other as
    /// they arrive, young ones included), zero likes unlabelled, as its live percentiles are.
    /// </summary>
    public static LabelingOptions Live { get; } = new() { Population = LabelPopulation.Platform, ZeroLikes = ZeroLikes.Unlabelled };

    public LabelPopulation Population { get; init; } = LabelPopulation.Dataset;

    public ZeroLikes ZeroLikes { get; init; } = ZeroLikes.Ranked;

    /// <summary>The dataset's release: songs created less than <see cref="MinAgeDays"/> before it are dropped; null: no age curation.</summary>
    public DateTimeOffset? AsOf { get; init; }

    public int MinAgeDays { get; init; } = 14;

    public bool BalancePlatforms { get; init; }

    /// <summary>Seeds the balancing's sampling.</summary>
    public int Seed { get; init; } = 42;
}
