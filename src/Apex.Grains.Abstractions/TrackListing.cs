namespace Apex.Grains;

/// <summary>A track in a platform listing.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.TrackListing")]
public sealed record TrackListing(
    [property: Id(0)] string TrackId,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] long Streams,
    [property: Id(3)] long Likes)
{
    /// <summary>The longest listing a platform serves (its population keeps this many tracks per order).</summary>
    public const int MaxLimit = 1_000;
}
