using Apex.Embedding.Encoding;
using Apex.Scoring;

namespace Apex.Cluster.Tests;

/// <summary>A model registry serving a synthetic-demo head sized for the bundled encoder fixture, trained once per test class.</summary>
public sealed class ServedModel : IAsyncLifetime
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("apex-models-").FullName;

    public static string Encoder => Path.Combine(AppContext.BaseDirectory, "models", "tiny-mert.onnx");

    public string Serving { get; private set; } = "";

    public async Task InitializeAsync()
    {
        using var encoder = new OnnxAudioEncoder(Encoder);
        Serving = await new ModelRegistry(Folder).EnsureServingAsync(encoder.Info.LayerCount, encoder.Info.HiddenSize);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }
}
