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
}
