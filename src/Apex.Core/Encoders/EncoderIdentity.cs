using System.Globalization;
using System.Text.RegularExpressions;

namespace Apex.Core.Encoders;

/// <summary>
/// An encoder's identity as recorded with everything made from its embeddings (datasets, checkpoints,
/// stored embeddings, scores): name, content hash, layers × hidden and sample rate, in one readable
/// string. Two encoders are the same when their content hashes are: a head is only ever applied to
/// embeddings of the encoder it was trained on, or of an INT8 encoder quantized from that one whose
/// export measured it within the accuracy gate (its identity names the FP32 encoder it stands for).
/// </summary>
public static partial class EncoderIdentity
{
    /// <summary>
    /// E.g. "mert-v1-95m (sha256:0123456789abcdef, 4×768, 24000 Hz)"; an INT8 encoder within its accuracy gate
    /// adds ", int8 of sha256:…" with the content hash of the FP32 encoder it stands for.
    /// </summary>
    public static string Of(string modelPath, string contentHash, int layers, int hidden, int sampleRate, string? standsFor = null) =>
        string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileNameWithoutExtension(modelPath)} (sha256:{contentHash[..16]}, {layers}×{hidden}, {sampleRate} Hz{(standsFor is { Length: >= 16 } ? $", int8 of sha256:{standsFor[..16]}" : "")})");

    /// <summary>The content hash an identity names; null for none (a synthetic dataset, a head trained before identities were recorded).</summary>
    public static string? HashOf(string? identity) =>
        identity is not null && HashPattern().Match(identity) is { Success: true } match ? match.Groups[1].Value : null;

    /// <summary>
    /// Why a head trained on <paramref name="trainedOn"/> must not score embeddings of <paramref name="embeddedBy"/>;
    /// null when it may (the same encoder, or a head that records none).
    /// </summary>
    public static string? Mismatch(string? trainedOn, string? embeddedBy) =>
        HashOf(trainedOn) is not { } trained || trained == HashOf(embeddedBy) || trained == StandsForOf(embeddedBy)
            ? null
            : $"it was trained on embeddings of {trainedOn}, and these come from {(string.IsNullOrEmpty(embeddedBy) ? "an unrecorded encoder" : embeddedBy)}";

    /// <summary>The FP32 encoder's content hash an INT8 identity stands for; null for none.</summary>
    public static string? StandsForOf(string? identity) =>
        identity is not null && StandsForPattern().Match(identity) is { Success: true } match ? match.Groups[1].Value : null;

    [GeneratedRegex(@"sha256:([0-9a-f]{16})")]
    private static partial Regex HashPattern();

    [GeneratedRegex(@"int8 of sha256:([0-9a-f]{16})")]
    private static partial Regex StandsForPattern();
}
