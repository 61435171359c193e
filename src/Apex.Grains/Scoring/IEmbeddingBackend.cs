namespace Apex.Grains.Scoring;

/// <summary>
/// The silo's embedding engine, one encoder session per device, with dynamic batching across tracks
/// (implemented where the encoder lives; the grains only see this).
/// </summary>
public interface IEmbeddingBackend
{
    Task<EmbedOutcome> EmbedAsync(int device, EmbedJob job, string silo, CancellationToken cancellationToken = default);

    EmbedderStats Stats(int device, string silo);
}

/// <summary>The silo's model host: the serving head checkpoint and its predictions.</summary>
public interface IModelHost
{
    /// <summary>The serving model's version and label (e.g. synthetic-demo), or null when none is loaded.</summary>
    (string Version, string? Label)? Serving { get; }

    /// <summary>Scores one track's segment embeddings with the serving model.</summary>
    TrackScores Predict(EmbedOutcome embedding, string embeddingRef, DateTimeOffset now);
}

/// <summary>
/// Where scoring results are kept: embeddings once (so that retraining never decodes audio again) and
/// each track's popularity predictions (which the population grains reload).
/// </summary>
public interface IScoreStore
{
    /// <summary>Stores (or replaces) a track's embedding; returns its reference.</summary>
    Task<string> SaveAsync(string trackId, EmbedOutcome embedding, CancellationToken cancellationToken = default);

    Task<EmbedOutcome?> LoadAsync(string trackId, CancellationToken cancellationToken = default);

    Task SavePredictionAsync(string platform, TrackPrediction prediction, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<TrackPrediction>> LoadPredictionsAsync(string platform, CancellationToken cancellationToken = default);

    /// <summary>The platforms that have scored tracks.</summary>
    Task<IReadOnlyList<string>> PlatformsAsync(CancellationToken cancellationToken = default);
}
