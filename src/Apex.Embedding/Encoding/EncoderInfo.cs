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
    string ContentHash = "",
    EncoderQuantization? Quantization = null)
{
    /// <summary>"fp32", or "int8" for an encoder quantized by tools/export-mert.</summary>
    public string Precision => Quantization?.Precision ?? EncoderQuantization.Fp32;

    public int LayerCount => Layers.Count;

    /// <summary>Name, content hash, shape and rate: recorded with every embedding, dataset and checkpoint made from this encoder.</summary>
    public string Identity => EncoderIdentity.Of(ModelPath, ContentHash.Length >= 16 ? ContentHash : new string('0', 16), Layers.Count, HiddenSize, SampleRate, Quantization?.StandsFor);

    /// <summary>Where it runs and at what precision, for reports: e.g. "CPU, int8".</summary>
    public string Runs => $"{Provider}, {Precision}";

    /// <summary>Floats per segment in the output: layers × hidden.</summary>
    public int SegmentWidth => Layers.Count * HiddenSize;
}
