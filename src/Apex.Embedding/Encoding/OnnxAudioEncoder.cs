using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace Apex.Embedding.Encoding;

/// <summary>
/// The MERT encoder (or any model honouring <see cref="EncoderContract"/>) over ONNX Runtime.
/// Thread-safe: concurrent calls share the session, each with its own batch buffer.
/// </summary>
public sealed partial class OnnxAudioEncoder : IAudioEncoder
{
    private readonly InferenceSession _session;
    private readonly EncoderOptions _options;
    private readonly ILogger _logger;
    private readonly int _maxBatch;

    public OnnxAudioEncoder(string modelPath, EncoderOptions? options = null, ILogger<OnnxAudioEncoder>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        _options = (options ?? new EncoderOptions()).Validate();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        if (!File.Exists(modelPath))
        {
            throw new FileNotFoundException($"Encoder model not found: {modelPath}", modelPath);
        }

        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = _options.IntraOpThreads,
        };
        var provider = ChooseProvider(sessionOptions);
        try
        {
            _session = new InferenceSession(modelPath, sessionOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new EncoderContractException($"{modelPath}: ONNX Runtime cannot load this model ({ex.Message}).", ex);
        }

        try
        {
            Info = EncoderContract.Read(_session, modelPath, provider);
        }
        catch
        {
            _session.Dispose();
            throw;
        }

        _maxBatch = _options.MaxBatch ?? (provider == "CPU" ? 1 : 8);
        LogLoaded(_logger, modelPath, provider, Info.Precision, string.Join(",", Info.Layers), Info.HiddenSize, Info.Source);
        Warmup();
    }

    public EncoderInfo Info { get; }

    public int MaxBatch => _maxBatch;

    public float[] Encode(IReadOnlyList<float[]> segments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var result = new float[segments.Count * Info.SegmentWidth];
        for (var start = 0; start < segments.Count; start += _maxBatch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(_maxBatch, segments.Count - start);
            RunBatch(segments, start, count, result.AsSpan(start * Info.SegmentWidth, count * Info.SegmentWidth));
        }

        return result;
    }

    public void Dispose() => _session.Dispose();

    private void RunBatch(IReadOnlyList<float[]> segments, int start, int count, Span<float> destination)
    {
        var samples = segments[start].Length;
        if (count == 1)
        {
            // The common CPU batch of one is fed as is: no copy.
            using var single = OrtValue.CreateTensorValueFromMemory(segments[start], [1, samples]);
            Run(single, count, destination);
            return;
        }

        var buffer = ArrayPool<float>.Shared.Rent(count * samples);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var segment = segments[start + i];
                if (segment.Length != samples)
                {
                    throw new ArgumentException($"All segments of a batch must have the same length ({samples} vs {segment.Length}).", nameof(segments));
                }

                segment.CopyTo(buffer, i * samples);
            }

            using var batch = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer.AsMemory(0, count * samples), [count, samples]);
            Run(batch, count, destination);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    private void Run(OrtValue input, int count, Span<float> destination)
    {
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, [EncoderContract.InputName], [input], [EncoderContract.OutputName]);
        var output = outputs[0];
        var shape = output.GetTensorTypeAndShape().Shape;
        if (shape.Length != 3 || shape[0] != count || shape[1] != Info.LayerCount || shape[2] != Info.HiddenSize)
        {
            throw new EncoderContractException($"{Info.ModelPath}: output '{EncoderContract.OutputName}' came back as [{string.Join(", ", shape)}], expected [{count}, {Info.LayerCount}, {Info.HiddenSize}].");
        }

        output.GetTensorDataAsSpan<float>().CopyTo(destination);
    }

    private string ChooseProvider(SessionOptions sessionOptions)
    {
        if (_options.Device == EncoderDevice.Cpu)
        {
            return "CPU";
        }

        try
        {
            sessionOptions.AppendExecutionProvider_CUDA(_options.DeviceIndex);
            return $"CUDA:{_options.DeviceIndex}";
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            // The CPU package has no CUDA provider, and a GPU package without a GPU throws here too.
            // Asked-for CUDA that does not load is a warning; "auto" expects it may not.
            if (_options.Device == EncoderDevice.Cuda)
            {
                LogCudaFallbackWarning(_logger, ex.Message);
            }
            else
            {
                LogCudaFallback(_logger, ex.Message);
            }

            return "CPU";
        }
    }

    private void Warmup()
    {
        if (_options.WarmupRuns == 0)
        {
            return;
        }

        var silence = new float[Info.SampleRate * 30];
        for (var i = 0; i < _options.WarmupRuns; i++)
        {
            Encode([silence]);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Encoder {Path} on {Provider} at {Precision}: layers {Layers}, hidden {Hidden}, weights from {Source}")]
    private static partial void LogLoaded(ILogger logger, string path, string provider, string precision, string layers, int hidden, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device cuda: CUDA is not available, the encoder runs on CPU ({Reason})")]
    private static partial void LogCudaFallbackWarning(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device auto: CUDA is not available, the encoder runs on CPU ({Reason})")]
    private static partial void LogCudaFallback(ILogger logger, string reason);
}
