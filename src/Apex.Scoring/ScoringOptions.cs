namespace Apex.Scoring;

/// <summary>How a silo embeds (section Apex:Embedding).</summary>
public sealed record ScoringOptions
{
    /// <summary>The encoder model (.onnx, the encoder contract). Default: the bundled tiny fixture (random weights, demos and tests).</summary>
    public string? Encoder { get; init; }

    /// <summary>This silo has GPUs (silo metadata gpu=true): its embedders run on CUDA.</summary>
    public bool Gpu { get; init; }

    /// <summary>Run CPU embedders on this silo when it has no GPU (the local profile sets it).</summary>
    public bool AllowCpu { get; init; }

    /// <summary>GPU device indices this silo serves, one embedder each (empty: device 0).</summary>
    public IReadOnlyList<int> Devices { get; init; } = [];

    /// <summary>Most segments in one encoder run (default: the encoder's own, 1 on CPU, 8 on CUDA).</summary>
    public int? MaxBatch { get; init; }

    /// <summary>How long a partial batch waits for more segments before it runs.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Tracks one embedder takes at once (decoding or waiting for the encoder); more are refused as busy.</summary>
    public int QueueCapacity { get; init; } = 64;

    /// <summary>ffmpeg decodes running at once on this silo (a bounded CPU pool, off the grain scheduler).</summary>
    public int DecodeConcurrency { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Intra-op threads of each CPU encoder session (0: ONNX Runtime's default).</summary>
    public int Threads { get; init; }
}
