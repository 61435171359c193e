using Apex.Core.Encoders;

namespace Apex.Embedding.Encoding;

/// <summary>What an encoder model declares in its metadata, and where it runs.</summary>
public sealed record EncoderInfo(
    string ModelPath,
    IReadOnlyList<int> Layers,
    int HiddenSize,
    int SampleRate,
    bool? Normalize,
    string Source,
    string Provider,
    string ContentHash = "")
{
    public int LayerCount => Layers.Count;

    /// <summary>Name, content hash, shape and rate: recorded with every embedding, dataset and checkpoint made from this encoder.</summary>
    public string Identity => EncoderIdentity.Of(ModelPath, ContentHash.Length >= 16 ? ContentHash : new string('0', 16), Layers.Count, HiddenSize, SampleRate);

    /// <summary>Floats per segment in the output: layers × hidden.</summary>
    public int SegmentWidth => Layers.Count * HiddenSize;
}
