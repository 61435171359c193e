namespace Apex.Embedding;

/// <summary>
/// One input's embedding: <see cref="Values"/> holds <c>segments × layers × hidden</c> floats,
/// segment-major, as the encoder contract returns them.
/// </summary>
public sealed record AudioEmbedding(string Path, double DurationSeconds, int SegmentCount, IReadOnlyList<int> Layers, int Hidden, float[] Values)
{
    public int SegmentWidth => Layers.Count * Hidden;

    public ReadOnlySpan<float> Segment(int index) => Values.AsSpan(index * SegmentWidth, SegmentWidth);

    /// <summary>The song-mode vector: the mean over segments, <c>layers × hidden</c> floats.</summary>
    public float[] SongMean()
    {
        var mean = new double[SegmentWidth];
        for (var s = 0; s < SegmentCount; s++)
        {
            var segment = Segment(s);
            for (var i = 0; i < mean.Length; i++)
            {
                mean[i] += segment[i];
            }
        }

        return Array.ConvertAll(mean, m => (float)(m / SegmentCount));
    }
}
