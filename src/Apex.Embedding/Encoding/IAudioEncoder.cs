namespace Apex.Embedding.Encoding;

/// <summary>Turns raw mono segments into per-layer time-mean embeddings.</summary>
public interface IAudioEncoder : IDisposable
{
    EncoderInfo Info { get; }

    /// <summary>
    /// Encodes segments of <c>samples</c> floats each, in batches of at most the configured size, and
    /// returns <c>segments × layers × hidden</c> floats in segment order.
    /// </summary>
    float[] Encode(IReadOnlyList<float[]> segments, CancellationToken cancellationToken = default);
}
