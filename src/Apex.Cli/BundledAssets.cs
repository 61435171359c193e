namespace Apex.Cli;

/// <summary>Files shipped beside the executable.</summary>
internal static class BundledAssets
{
    /// <summary>The tiny random-weight MERT-shaped encoder made by tools/export-mert: real graph, meaningless weights.</summary>
    public static string TinyEncoder => Path.Combine(AppContext.BaseDirectory, "models", "tiny-mert.onnx");

    /// <summary>The freely licensed sample recordings (see samples/ATTRIBUTION.md).</summary>
    public static string Samples => Path.Combine(AppContext.BaseDirectory, "samples");
}
