namespace Apex.Embedding.Encoding;

public sealed record EncoderOptions
{
    public EncoderDevice Device { get; init; } = EncoderDevice.Auto;

    /// <summary>CUDA device index, for machines with several GPUs.</summary>
    public int DeviceIndex { get; init; }

    /// <summary>
    /// Most segments in one ONNX run; larger inputs are split. Null picks by provider: 1 on CPU (measured
    /// fastest per segment and smallest in memory, see benchmarks/RESULTS.md), 8 on CUDA.
    /// </summary>
    public int? MaxBatch { get; init; }

    /// <summary>ONNX Runtime intra-op threads; 0 lets it choose (one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Runs made on silence at load, so that page faults of the first runs do not land on real work.</summary>
    public int WarmupRuns { get; init; }

    public EncoderOptions Validate()
    {
        if (MaxBatch is < 1)
        {
            throw new ArgumentException($"Max batch must be at least 1 (was {MaxBatch}).");
        }

        if (IntraOpThreads < 0 || DeviceIndex < 0 || WarmupRuns < 0)
        {
            throw new ArgumentException("Threads, device index and warm-up runs cannot be negative.");
        }

        return this;
    }
}
