namespace Apex.Grains.Scoring;

/// <summary>A scored track's predicted popularity scores (0..100) and the model that made them.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.TrackPrediction")]
public sealed record TrackPrediction(
    [property: Id(0)] string TrackId,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] string ModelVersion,
    [property: Id(3)] string? ModelLabel,
    [property: Id(4)] double Streams,
    [property: Id(5)] double Likes);

/// <summary>A young track with its predicted and actual popularity so far: an emerging-hits candidate.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.EmergingTrack")]
public sealed record EmergingTrack(
    [property: Id(0)] string TrackId,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] double PredictedStreams,
    [property: Id(3)] double ActualStreams,
    [property: Id(4)] double Gap,
    [property: Id(5)] double PredictedLikes,
    [property: Id(6)] double ActualLikes,
    [property: Id(7)] long Streams,
    [property: Id(8)] long Likes,
    [property: Id(9)] string ModelVersion,
    [property: Id(10)] string? ModelLabel,
    [property: Id(11)] double? StreamsPerHour = null,
    [property: Id(12)] double? VelocityScore = null,
    [property: Id(13)] double Potential = 0);

/// <summary>Predicted against actual popularity over a platform's mature scored tracks.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.Calibration")]
public sealed record Calibration(
    [property: Id(0)] int MatureScoredTracks,
    [property: Id(1)] CalibrationTask Streams,
    [property: Id(2)] CalibrationTask Likes,
    [property: Id(3)] IReadOnlyList<string> ModelVersions);

/// <summary>One task's calibration: tracks with an actual score (a nonzero count), Pearson, MAE and deciles of the prediction.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.CalibrationTask")]
public sealed record CalibrationTask(
    [property: Id(0)] int Tracks,
    [property: Id(1)] double? Pearson,
    [property: Id(2)] double? MeanAbsoluteError,
    [property: Id(3)] IReadOnlyList<CalibrationDecile> Deciles);

[GenerateSerializer]
[Alias("Apex.Grains.Scoring.CalibrationDecile")]
public sealed record CalibrationDecile(
    [property: Id(0)] int Decile,
    [property: Id(1)] int Tracks,
    [property: Id(2)] double MeanPredicted,
    [property: Id(3)] double MeanActual);

/// <summary>One mature scored track: its predicted streams and likes scores beside the live actual ones (null for a zero count).</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.CalibrationPoint")]
public sealed record CalibrationPoint(
    [property: Id(0)] string TrackId,
    [property: Id(1)] double PredictedStreams,
    [property: Id(2)] double? ActualStreams,
    [property: Id(3)] double PredictedLikes,
    [property: Id(4)] double? ActualLikes);

/// <summary>The platform's scored tracks, its mature scored tracks, and up to the asked number of them as points.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.CalibrationPoints")]
public sealed record CalibrationPoints(
    [property: Id(0)] int ScoredTracks,
    [property: Id(1)] int MatureScoredTracks,
    [property: Id(2)] IReadOnlyList<CalibrationPoint> Points);
