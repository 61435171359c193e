using System.CommandLine;
using Apex.Audio.Decoding;
using Apex.Embedding;
using Apex.Embedding.Encoding;
using Microsoft.Extensions.Logging;

namespace Apex.Cli.Commands;

/// <summary>What the encoder options of a command resolved to.</summary>
internal sealed record EncoderSettings(string? ModelPath, EncoderOptions Options);

/// <summary>The encoder options shared by the commands that embed audio.</summary>
internal static class EncoderOptionsBinder
{
    public static Option<string?> EncoderOption() =>
        new("--encoder") { Description = "Encoder model (.onnx) honouring the encoder contract. Default: the bundled tiny fixture (random weights: for demos and tests only)." };

    public static Option<EncoderDevice> DeviceOption() =>
        new("--device") { Description = "auto: CUDA when it loads, else CPU; cpu; cuda (falls back to CPU with a warning when CUDA cannot load).", DefaultValueFactory = _ => EncoderDevice.Auto };

    public static Option<int?> MaxBatchOption() =>
        new("--max-batch") { Description = "Most segments per ONNX run (default: 1 on CPU, 8 on CUDA)." };

    public static Option<int> ThreadsOption() =>
        new("--threads") { Description = "ONNX Runtime intra-op threads (0: one per physical core).", DefaultValueFactory = _ => 0 };

    public static EncoderSettings Bind(ParseResult result, Option<string?> encoder, Option<EncoderDevice> device, Option<int?> maxBatch, Option<int> threads) =>
        new(result.GetValue(encoder), new EncoderOptions
        {
            Device = result.GetValue(device),
            MaxBatch = result.GetValue(maxBatch),
            IntraOpThreads = result.GetValue(threads),
        });

    /// <summary>Decoder + encoder: the decoder resamples to the rate the encoder's metadata asks for.</summary>
    public static AudioEmbedder Embedder(OnnxAudioEncoder encoder, ILoggerFactory loggers) =>
        new(new FfmpegAudioDecoder(new AudioOptions { SampleRate = encoder.Info.SampleRate }, loggers.CreateLogger<FfmpegAudioDecoder>()), encoder);

    /// <summary>Opens the encoder, or reports why not (and returns null).</summary>
    public static OnnxAudioEncoder? Open(EncoderSettings settings, ILoggerFactory loggers)
    {
        var path = settings.ModelPath;
        if (path is null)
        {
            path = BundledAssets.TinyEncoder;
            CliConsole.Note($"No --encoder given: using the bundled fixture {path} (tiny MERT-shaped graph with random weights; its embeddings are for demos and tests, not real MERT features).");
        }

        try
        {
            return new OnnxAudioEncoder(path, settings.Options.Validate(), loggers.CreateLogger<OnnxAudioEncoder>());
        }
        catch (Exception ex) when (ex is EncoderContractException or FileNotFoundException or ArgumentException)
        {
            CliConsole.Fail(ex.Message);
            return null;
        }
    }
}
