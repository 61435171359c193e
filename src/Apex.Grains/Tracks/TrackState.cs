using Apex.Grains.Scoring;

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
    public ScoringStatus Scoring { get; set; }

    /// <summary>Why the last attempt did not score the track (cleared once scored).</summary>
    [Id(3)]
    public string? ScoringError { get; set; }

    [Id(4)]
    public int ScoringAttempts { get; set; }

    [Id(5)]
    public TrackScores? Scores { get; set; }

    /// <summary>Registered in bulk and admitted by the backfill (its scoring counts as backfill work).</summary>
    [Id(6)]
    public bool Backfill { get; set; }
}
