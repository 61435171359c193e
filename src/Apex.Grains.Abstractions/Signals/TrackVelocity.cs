namespace Apex.Grains.Signals;

/// <summary>
/// How fast a young track is taking off, by event time: streams per hour over the last 24 hours (over
/// its age, when younger) and over the 24 before, and where that stands in its cohort.
/// </summary>
[GenerateSerializer]
[Alias("Apex.Grains.Signals.TrackVelocity")]
public sealed record TrackVelocity(
    [property: Id(0)] string TrackId,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] double StreamsPerHour,
    [property: Id(3)] double PreviousStreamsPerHour,
    [property: Id(4)] string Cohort,
    [property: Id(5)] int CohortSize,
    [property: Id(6)] double CohortMedian,
    [property: Id(7)] double Z,
    [property: Id(8)] double VelocityScore,
    [property: Id(9)] double? PredictedStreams,
    [property: Id(10)] IReadOnlyList<string> Reasons,
    [property: Id(11)] DateTimeOffset? BreakoutSince)
{
    /// <summary>The velocity's change against the 24 hours before.</summary>
    public double Change => StreamsPerHour - PreviousStreamsPerHour;

    public bool IsBreakout => Reasons.Count > 0;
}
