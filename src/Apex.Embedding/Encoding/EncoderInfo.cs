namespace Apex.Embedding.Encoding;

/// <summary>What an encoder model declares in its metadata, and where it runs.</summary>
public sealed record EncoderInfo(
    string ModelPath,
    IReadOnlyList<int> Layers,
    int HiddenSize,
    int SampleRate,
    bool? Normalize,
    string Source,
    string Provider)
{
    public int LayerCount => Layers.Count;

    /// <summary>Floats per segment in the output: layers × hidden.</summary>
    public int SegmentWidth => Layers.Count * HiddenSize;
}
