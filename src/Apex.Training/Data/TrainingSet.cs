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
public sealed class TrainingSet : ISampleSource
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

    /// <summary>One sample per song from ready arrays (benchmarks, tests): features [songs, layers, hidden], labels [songs, tasks].</summary>
    public static TrainingSet FromArrays(int layers, int hidden, IReadOnlyList<ApexTask> tasks, float[] features, float[] labels)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        var songs = labels.Length / tasks.Count;
        if ((long)songs * layers * hidden != features.LongLength || songs * tasks.Count != labels.Length)
        {
            throw new ArgumentException("Features and labels disagree on the number of samples.");
        }

        return new TrainingSet(layers, hidden, tasks, InputMode.Song, Enumerable.Range(0, songs).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(), labels, features, Enumerable.Range(0, songs).ToArray());
    }

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

    public IEnumerable<SampleBatch> Epoch(int batchSize, Random random) => EpochOrder(batchSize, random).Select(samples => Batch(samples));

    /// <summary>One epoch as the samples (indices) of each batch of at most <paramref name="batchSize"/>, shuffled with <paramref name="random"/>.</summary>
    public IEnumerable<int[]> EpochOrder(int batchSize, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var order = Enumerable.Range(0, SampleCount).ToArray();
        random.Shuffle(order);
        return order.Chunk(batchSize);
    }

    /// <summary>The given samples as one batch.</summary>
    public SampleBatch Batch(ReadOnlySpan<int> samples)
    {
        var tasks = Tasks.Count;
        var features = new float[samples.Length * Width];
        var labels = new float[samples.Length * tasks];
        for (var i = 0; i < samples.Length; i++)
        {
            Features.AsSpan(checked((int)((long)samples[i] * Width)), Width).CopyTo(features.AsSpan(i * Width));
            LabelsOf(samples[i]).CopyTo(labels.AsSpan(i * tasks));
        }

        return new SampleBatch(features, labels, samples.Length);
    }

    /// <summary>A row whose embedding is replaced by its segment mean: all that song mode keeps in memory.</summary>
    public static SongRow ToSongMean(SongRow row, DatasetInfo info)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(info);
        var width = info.SegmentWidth;
        var mean = new float[width];
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

        return new SongRow
        {
            TrackId = row.TrackId, Platform = row.Platform, CreatedAt = row.CreatedAt, Streams = row.Streams, Likes = row.Likes,
            Coherence = row.Coherence, Musicality = row.Musicality, Memorability = row.Memorability, Clarity = row.Clarity,
            Naturalness = row.Naturalness, Instrumental = row.Instrumental, Segments = 1, Embedding = mean,
        };
    }
}
