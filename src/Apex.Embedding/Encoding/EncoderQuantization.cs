using System.Globalization;

namespace Apex.Embedding.Encoding;

/// <summary>
/// An encoder's precision as its export recorded it, and for an INT8 encoder the accuracy gate its export
/// measured against the FP32 encoder it was quantized from (pooled layer vectors of the bundled
/// recordings at cosine ≥ <see cref="GateThreshold"/>).
/// </summary>
/// <param name="Precision">"fp32" or "int8".</param>
/// <param name="QuantizedFrom">The FP32 encoder file's SHA-256 (hex).</param>
/// <param name="GatePassed">Whether the export recorded the gate as passed.</param>
/// <param name="CosineMin">The gate's lowest cosine over every (segment, layer) pair.</param>
public sealed record EncoderQuantization(string Precision, string? QuantizedFrom, bool GatePassed, double? CosineMin)
{
    public const string Fp32 = "fp32";
    public const string Integer8 = "int8";
    public const double GateThreshold = 0.995;

    /// <summary>The FP32 encoder this one may stand in for (heads trained on its embeddings may score these): only within the gate.</summary>
    public string? StandsFor => Precision == Integer8 && GatePassed && CosineMin >= GateThreshold ? QuantizedFrom : null;

    /// <summary>Reads the precision keys of a model's metadata; null for an FP32 encoder.</summary>
    public static EncoderQuantization? Read(IReadOnlyDictionary<string, string> metadata, string path)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!metadata.TryGetValue(EncoderContract.QuantizationKey, out var precision) || precision == Fp32)
        {
            return null;
        }

        if (precision != Integer8)
        {
            throw new EncoderContractException($"{path}: '{EncoderContract.QuantizationKey}' must be '{Fp32}' or '{Integer8}' (was '{precision}').");
        }

        var from = metadata.GetValueOrDefault(EncoderContract.QuantizedFromKey);
        if (from is null || from.Length != 64 || !from.All(char.IsAsciiHexDigitLower))
        {
            throw new EncoderContractException($"{path}: an int8 encoder needs '{EncoderContract.QuantizedFromKey}', the SHA-256 of the FP32 model it was quantized from; export it with tools/export-mert --quantize int8.");
        }

        double? cosine = double.TryParse(metadata.GetValueOrDefault(EncoderContract.CosineMinKey), NumberStyles.Float, CultureInfo.InvariantCulture, out var c) ? c : null;
        return new EncoderQuantization(Integer8, from, metadata.GetValueOrDefault(EncoderContract.GateKey) == "passed", cosine);
    }
}
