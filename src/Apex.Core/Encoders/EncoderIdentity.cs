using System.Globalization;
using System.Text.RegularExpressions;

namespace Apex.Core.Encoders;

/// <summary>
/// An encoder's identity as recorded with everything made from its embeddings (datasets, checkpoints,
/// stored embeddings, scores): name, content hash, layers × hidden and sample rate, in one readable
/// string. Two encoders are the same when their content hashes are: a head is only ever applied to
/// embeddings of the encoder it was trained on.
/// </summary>
public static partial class EncoderIdentity
{
    /// <summary>E.g. "mert-v1-95m (sha256:0123456789abcdef, 4×768, 24000 Hz)".</summary>
    public static string Of(string modelPath, string contentHash, int layers, int hidden, int sampleRate) =>
        string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileNameWithoutExtension(modelPath)} (sha256:{contentHash[..16]}, {layers}×{hidden}, {sampleRate} Hz)");

    /// <summary>The content hash an identity names; null for none (a synthetic dataset, a head trained before identities were recorded).</summary>
    public static string? HashOf(string? identity) =>
        identity is not null && HashPattern().Match(identity) is { Success: true } match ? match.Groups[1].Value : null;

    /// <summary>
    /// Why a head trained on <paramref name="trainedOn"/> must not score embeddings of <paramref name="embeddedBy"/>;
    /// null when it may (the same encoder, or a head that records none).
    /// </summary>
    public static string? Mismatch(string? trainedOn, string? embeddedBy) =>
        HashOf(trainedOn) is not { } trained || trained == HashOf(embeddedBy)
            ? null
            : $"it was trained on embeddings of {trainedOn}, and these come from {(string.IsNullOrEmpty(embeddedBy) ? "an unrecorded encoder" : embeddedBy)}";

    [GeneratedRegex(@"sha256:([0-9a-f]{16})")]
    private static partial Regex HashPattern();
}
