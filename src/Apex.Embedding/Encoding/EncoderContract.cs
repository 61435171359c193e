using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Apex.Embedding.Encoding;

/// <summary>
/// The encoder contract: input <c>input_values</c> float32 [batch, samples], output <c>layer_means</c>
/// float32 [batch, layers, hidden], and metadata <c>apex.layers</c>, <c>apex.sample_rate</c>,
/// <c>apex.hidden_size</c> (plus optional <c>apex.normalize</c>, <c>apex.source</c>, and
/// <c>apex.quantization</c> with, for an INT8 encoder, its origin and accuracy gate).
/// </summary>
public static class EncoderContract
{
    public const string InputName = "input_values";
    public const string OutputName = "layer_means";
    public const string LayersKey = "apex.layers";
    public const string SampleRateKey = "apex.sample_rate";
    public const string HiddenSizeKey = "apex.hidden_size";
    public const string NormalizeKey = "apex.normalize";
    public const string SourceKey = "apex.source";
    public const string QuantizationKey = "apex.quantization";
    public const string QuantizedFromKey = "apex.quantized_from";
    public const string GateKey = "apex.quantization.gate";
    public const string CosineMinKey = "apex.quantization.cosine_min";

    /// <summary>Reads and checks the contract; throws <see cref="EncoderContractException"/> saying what is wrong.</summary>
    public static EncoderInfo Read(InferenceSession session, string modelPath, string provider)
    {
        ArgumentNullException.ThrowIfNull(session);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        var layers = ParseLayers(Require(metadata, LayersKey, modelPath), modelPath);
        var sampleRate = ParsePositive(Require(metadata, SampleRateKey, modelPath), SampleRateKey, modelPath);
        var hidden = ParsePositive(Require(metadata, HiddenSizeKey, modelPath), HiddenSizeKey, modelPath);
        bool? normalize = metadata.TryGetValue(NormalizeKey, out var n) && bool.TryParse(n, out var b) ? b : null;
        var source = metadata.TryGetValue(SourceKey, out var s) ? s : "unknown";

        CheckTensor(session.InputMetadata, InputName, rank: 2, modelPath, "input");
        var output = CheckTensor(session.OutputMetadata, OutputName, rank: 3, modelPath, "output");
        CheckDimension(output.Dimensions[1], layers.Length, "layers", modelPath);
        CheckDimension(output.Dimensions[2], hidden, "hidden size", modelPath);

        var quantization = EncoderQuantization.Read(metadata, modelPath);
        return new EncoderInfo(modelPath, layers, hidden, sampleRate, normalize, source, provider, Apex.Core.Files.FileHash.Sha256(modelPath), quantization);
    }

    private static string Require(Dictionary<string, string> metadata, string key, string path) =>
        metadata.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value)
            ? value
            : throw new EncoderContractException($"{path}: the model lacks the metadata property '{key}' of the encoder contract; export it with tools/export-mert.");

    private static int[] ParseLayers(string value, string path)
    {
        var parts = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var layers = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out layers[i]))
            {
                throw new EncoderContractException($"{path}: '{LayersKey}' must list layer numbers separated by commas (was '{value}').");
            }
        }

        return layers.Length > 0 ? layers : throw new EncoderContractException($"{path}: '{LayersKey}' names no layers.");
    }

    private static int ParsePositive(string value, string key, string path) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new EncoderContractException($"{path}: '{key}' must be a positive integer (was '{value}').");

    private static NodeMetadata CheckTensor(IReadOnlyDictionary<string, NodeMetadata> nodes, string name, int rank, string path, string role)
    {
        if (!nodes.TryGetValue(name, out var node))
        {
            throw new EncoderContractException($"{path}: the model has no {role} named '{name}' (it has: {string.Join(", ", nodes.Keys)}).");
        }

        if (!node.IsTensor || node.ElementDataType != TensorElementType.Float || node.Dimensions.Length != rank)
        {
            throw new EncoderContractException($"{path}: {role} '{name}' must be a float32 tensor of rank {rank} (is {node.ElementDataType} [{string.Join(", ", node.Dimensions)}]).");
        }

        return node;
    }

    private static void CheckDimension(int declared, int expected, string what, string path)
    {
        // Negative dimensions are symbolic (dynamic); they are checked on the first run instead.
        if (declared >= 0 && declared != expected)
        {
            throw new EncoderContractException($"{path}: output '{OutputName}' has {declared} {what} but the metadata says {expected}.");
        }
    }
}
