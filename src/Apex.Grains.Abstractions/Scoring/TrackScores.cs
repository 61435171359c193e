namespace Apex.Grains.Scoring;

/// <summary>Where a track is in scoring.</summary>
public enum ScoringStatus
{
    /// <summary>Waiting for an embedder (durably: retried until it is scored or fails).</summary>
    Queued,
    Scored,

    /// <summary>The audio could not be used; <see cref="TrackScoring.Error"/> says why. Not retried.</summary>
    Failed,
}

/// <summary>The head's predictions for one track, with the model and encoder that made them.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.TrackScores")]
public sealed record TrackScores(
    [property: Id(0)] string ModelVersion,
    [property: Id(1)] string? ModelLabel,
    [property: Id(2)] IReadOnlyList<string> Tasks,
    [property: Id(3)] float[] Song,
    [property: Id(4)] float[][] Segments,
    [property: Id(5)] string Encoder,
    [property: Id(6)] string EmbeddingRef,
    [property: Id(7)] DateTimeOffset ScoredAt)
{
    /// <summary>The song score of a task, or null when the model has no such task.</summary>
    public float? Of(string task)
    {
        var i = Tasks is List<string> list ? list.IndexOf(task) : Tasks.ToList().IndexOf(task);
        return i < 0 ? null : Song[i];
    }
}

/// <summary>A track's scoring state as readers see it.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.TrackScoring")]
public sealed record TrackScoring(
    [property: Id(0)] ScoringStatus Status,
    [property: Id(1)] string? Error,
    [property: Id(2)] int Attempts,
    [property: Id(3)] TrackScores? Scores);
