namespace Apex.Grains.Tracks;

/// <summary>The persisted state of a <see cref="TrackGrain"/>.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Tracks.TrackState")]
public sealed class TrackState
{
    [Id(0)]
    public TrackRegistration? Registration { get; set; }

    [Id(1)]
    public DateTimeOffset RegisteredAt { get; set; }

    [Id(2)]
    public long Streams { get; set; }

    [Id(3)]
    public long Likes { get; set; }
}
