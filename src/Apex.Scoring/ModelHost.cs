using Apex.Grains.Scoring;
using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Model;
using Apex.Training.Training;

namespace Apex.Scoring;

/// <summary>
/// The silo's serving head: loaded from the registry's serving checkpoint, used for every track this
/// silo scores. TorchSharp modules are not safe to run from several threads at once, so predictions
/// take a lock (a head forward pass on one track is well under a millisecond).
/// </summary>
public sealed class ModelHost : IModelHost, IDisposable
{
    private readonly Lock _gate = new();
    private bool _disposed;
    private readonly ApexHead _head;
    private readonly CheckpointManifest _manifest;
    private readonly InputMode _mode;

    public ModelHost(string checkpointDirectory)
    {
        (_head, _manifest) = HeadCheckpoint.Load(checkpointDirectory);
        _mode = Enum.Parse<InputMode>(_manifest.InputMode, ignoreCase: true);
    }

    public (string Version, string? Label)? Serving => (_manifest.Version, _manifest.Label);

    public int Layers => _head.Architecture.Layers;

    public int Hidden => _head.Architecture.Hidden;

    public TrackScores Predict(EmbedOutcome embedding, string embeddingRef, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        if (embedding.Layers != Layers || embedding.Hidden != Hidden)
        {
            throw new InvalidOperationException($"The encoder gives {embedding.Layers} × {embedding.Hidden} embeddings but model {_manifest.Version} takes {Layers} × {Hidden}.");
        }

        if (Apex.Core.Encoders.EncoderIdentity.Mismatch(_manifest.Encoder, embedding.Encoder) is { } mismatch)
        {
            throw new InvalidOperationException($"Model {_manifest.Version} does not score this track: {mismatch}.");
        }

        SongScores scores;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            scores = HeadScorer.Score(_head, _mode, embedding.Values!, embedding.Segments);
        }

        return new TrackScores(_manifest.Version, _manifest.Label, scores.Tasks.Select(t => t.Name).ToList(), scores.Song, scores.Segments, embedding.Encoder, embeddingRef, now);
    }

    /// <summary>Frees the head once no prediction runs on it (a freed head under a prediction crashes libtorch).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _head.Dispose();
        }
    }
}
