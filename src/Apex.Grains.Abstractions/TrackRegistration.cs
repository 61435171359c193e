namespace Apex.Grains;

/// <summary>What a platform says about a new track: optionally also the system that generated it and its prompt (the arena pairs tracks by them).</summary>
[GenerateSerializer]
[Alias("Apex.Grains.TrackRegistration")]
public sealed record TrackRegistration(
    [property: Id(0)] string Platform,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] string AudioLocation,
    [property: Id(3)] bool? Instrumental,
    [property: Id(4)] string? System = null,
    [property: Id(5)] string? Prompt = null);

/// <summary>A track as readers see it.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.TrackView")]
public sealed record TrackView(
    [property: Id(0)] string TrackId,
    [property: Id(1)] string Platform,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] string AudioLocation,
    [property: Id(4)] bool? Instrumental,
    [property: Id(5)] long Streams,
    [property: Id(6)] long Likes,
    [property: Id(7)] DateTimeOffset RegisteredAt,
    [property: Id(8)] Scoring.TrackScoring? Scoring = null,
    [property: Id(9)] string? System = null,
    [property: Id(10)] string? Prompt = null);

/// <summary>The track after a registration, and whether this call created it (false for a repeat).</summary>
[GenerateSerializer]
[Alias("Apex.Grains.TrackRegistered")]
public sealed record TrackRegistered(
    [property: Id(0)] TrackView Track,
    [property: Id(1)] bool Created);

/// <summary>A registration that contradicts the one already stored for the same id.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.TrackConflictException")]
public sealed class TrackConflictException : Exception
{
    public TrackConflictException()
    {
    }

    public TrackConflictException(string message)
        : base(message)
    {
    }

    public TrackConflictException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
