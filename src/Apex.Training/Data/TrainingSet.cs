using Apex.Training.Model;

namespace Apex.Training.Data;

/// <summary>How songs become samples.</summary>
public enum InputMode
{
    /// <summary>One sample per song: the mean of its segment embeddings.</summary>
    Song,

    /// <summary>One sample per segment, sharing its song's labels; predictions are averaged per song.</summary>
    Segment,
}

/// <summary>
/// Samples in memory as flat float arrays: features [samples, layers, hidden], labels [samples, tasks]
/// (NaN = missing), and for each sample its song.
/// </summary>
public sealed class TrainingSet
{
    private TrainingSet(int layers, int hidden, IReadOnlyList<ApexTask> tasks, InputMode mode, string[] trackIds, float[] songLabels, float[] features, int[] songOfSample)
    {
        Layers = layers;
        Hidden = hidden;
        Tasks = tasks;
        Mode = mode;
        TrackIds = trackIds;
        SongLabels = songLabels;
        Features = features;
        SongOfSample = songOfSample;
    }

    public int Layers { get; }

    public int Hidden { get; }

    public IReadOnlyList<ApexTask> Tasks { get; }

    public InputMode Mode { get; }

    public IReadOnlyList<string> TrackIds { get; }

    /// <summary>[songs, tasks], NaN where a label is missing.</summary>
    public float[] SongLabels { get; }

    /// <summary>[samples, layers, hidden].</summary>
    public float[] Features { get; }

    public int[] SongOfSample { get; }

    public int SongCount => TrackIds.Count;

    public int SampleCount => SongOfSample.Length;

    public int Width => Layers * Hidden;

    public static TrainingSet Build(IReadOnlyList<SongRow> rows, DatasetInfo info, IReadOnlyList<ApexTask> tasks, InputMode mode)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(tasks);
        var width = info.SegmentWidth;
        var samples = mode == InputMode.Song ? rows.Count : rows.Sum(r => r.Segments);
        var features = new float[(long)samples * width];
        var songOfSample = new int[samples];
        var labels = new float[rows.Count * tasks.Count];
        var next = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            for (var t = 0; t < tasks.Count; t++)
            {
                labels[i * tasks.Count + t] = row.Label(tasks[t].Name) ?? float.NaN;
            }

            if (mode == InputMode.Song)
            {
                var mean = features.AsSpan(next * width, width);
                for (var s = 0; s < row.Segments; s++)
                {
                    var segment = row.Embedding.AsSpan(s * width, width);
                    for (var d = 0; d < width; d++)
                    {
                        mean[d] += segment[d];
                    }
                }

                for (var d = 0; d < width; d++)
                {
                    mean[d] /= row.Segments;
                }

                songOfSample[next++] = i;
            }
            else
            {
                row.Embedding.CopyTo(features, (long)next * width);
                for (var s = 0; s < row.Segments; s++)
                {
                    songOfSample[next++] = i;
                }
            }
        }

        return new TrainingSet(info.Layers, info.Hidden, tasks, mode, rows.Select(r => r.TrackId).ToArray(), labels, features, songOfSample);
    }

    /// <summary>The labels of a sample (its song's).</summary>
    public ReadOnlySpan<float> LabelsOf(int sample) => SongLabels.AsSpan(SongOfSample[sample] * Tasks.Count, Tasks.Count);
}
