using System.Text.Json;
using System.Text.Json.Serialization;

namespace Apex.Embedding.Tests;

internal static class Fixtures
{
    public static string TinyMert => Path.Combine(AppContext.BaseDirectory, "models", "tiny-mert.onnx");

    public static string TinyMertInt8 => Path.Combine(AppContext.BaseDirectory, "models", "tiny-mert-int8.onnx");

    public static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    public static string ContractCase(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "contract", name);

    public static TinyMertReference LoadReference(string name = "tiny-mert.reference.json") =>
        JsonSerializer.Deserialize<TinyMertReference>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", name)))!;
}

/// <summary>PyTorch's output for the fixture audio, written by tools/export-mert (subcommand tiny).</summary>
internal sealed record TinyMertReference(
    [property: JsonPropertyName("audio")] string Audio,
    [property: JsonPropertyName("decoded_samples")] long DecodedSamples,
    [property: JsonPropertyName("decoded_sum")] double DecodedSum,
    [property: JsonPropertyName("decoded_abs_sum")] double DecodedAbsSum,
    [property: JsonPropertyName("layers")] int[] Layers,
    [property: JsonPropertyName("hidden")] int Hidden,
    [property: JsonPropertyName("segments")] int Segments,
    [property: JsonPropertyName("layer_means")] double[][][] LayerMeans,
    [property: JsonPropertyName("song_mean")] double[][] SongMean,
    [property: JsonPropertyName("quantized_from")] string? QuantizedFrom = null);
