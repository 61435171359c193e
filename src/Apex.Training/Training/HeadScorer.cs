using Apex.Training.Data;
using Apex.Training.Model;
using Apex.Training.Torch;
using static TorchSharp.torch;

namespace Apex.Training.Training;

/// <summary>The scores of one song: per task, and per segment per task.</summary>
public sealed record SongScores(IReadOnlyList<ApexTask> Tasks, float[] Song, float[][] Segments);

/// <summary>Runs a head on one song's segment embeddings, the way its input mode was trained.</summary>
public static class HeadScorer
{
    /// <summary>Scores one song; <paramref name="embedding"/> holds <paramref name="segments"/> × layers × hidden floats.</summary>
    public static SongScores Score(ApexHead head, InputMode mode, float[] embedding, int segments)
    {
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(embedding);
        var a = head.Architecture;
        var width = a.Layers * a.Hidden;
        if (segments < 1 || embedding.Length != segments * width)
        {
            throw new ArgumentException($"Expected {segments} segments × {a.Layers} × {a.Hidden} floats, got {embedding.Length}: does the encoder match the model?", nameof(embedding));
        }

        head.eval();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var perSegment = head.call(OwnedTensors.Of(embedding, [segments, a.Layers, a.Hidden])).data<float>().ToArray();
        var tasks = a.Tasks.Count;
        var segmentScores = Enumerable.Range(0, segments).Select(s => perSegment.AsSpan(s * tasks, tasks).ToArray()).ToArray();
        float[] song;
        if (mode == InputMode.Song)
        {
            // Song mode scores the mean embedding, as it was trained.
            var mean = OwnedTensors.Of(embedding, [segments, a.Layers, a.Hidden]).mean([0L], keepdim: true);
            song = head.call(mean).data<float>().ToArray();
        }
        else
        {
            song = Enumerable.Range(0, tasks).Select(t => segmentScores.Average(s => s[t])).ToArray();
        }

        return new SongScores(a.Tasks, song, segmentScores);
    }
}
