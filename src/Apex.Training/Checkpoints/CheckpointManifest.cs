using System.Text.Json.Serialization;

namespace Apex.Training.Checkpoints;

/// <summary>The JSON manifest beside a head's safetensors weights.</summary>
public sealed record CheckpointManifest
{
    [JsonPropertyName("version")]
    public required string Version { get; init; }

    /// <summary>A label shown wherever the model's scores appear, e.g. <c>synthetic-demo</c> for a head trained on synthetic data.</summary>
    [JsonPropertyName("label")]
    public string? Label { get; init; }

    [JsonPropertyName("architecture")]
    public required ArchitectureManifest Architecture { get; init; }

    [JsonPropertyName("input_mode")]
    public required string InputMode { get; init; }

    [JsonPropertyName("loss")]
    public required string Loss { get; init; }

    /// <summary>How it was batched: ghost batches × rows per ghost batch (the paper: "4 × 512").</summary>
    [JsonPropertyName("batch")]
    public string? Batch { get; init; }

    /// <summary>Learnt ½·exp(−s_i) per task under uncertainty weighting.</summary>
    [JsonPropertyName("task_weights")]
    public IReadOnlyList<float>? TaskWeights { get; init; }

    [JsonPropertyName("data_snapshot")]
    public required string DataSnapshot { get; init; }

    /// <summary>The encoder whose embeddings trained this head (name, content hash, shape, rate); null for synthetic data. The head scores only that encoder's embeddings.</summary>
    [JsonPropertyName("encoder")]
    public string? Encoder { get; init; }

    /// <summary>The seed of the stratified split, so that evaluation can re-derive the same test songs.</summary>
    [JsonPropertyName("split_seed")]
    public int SplitSeed { get; init; }

    [JsonPropertyName("best_epoch")]
    public int BestEpoch { get; init; }

    [JsonPropertyName("test_metrics")]
    public IReadOnlyDictionary<string, MetricsManifest> TestMetrics { get; init; } = new Dictionary<string, MetricsManifest>();

    [JsonPropertyName("created_at")]
    public DateTimeOffset CreatedAt { get; init; }
}

public sealed record ArchitectureManifest(
    [property: JsonPropertyName("layers")] int Layers,
    [property: JsonPropertyName("hidden")] int Hidden,
    [property: JsonPropertyName("trunk")] IReadOnlyList<int> Trunk,
    [property: JsonPropertyName("branch_width")] int BranchWidth,
    [property: JsonPropertyName("trunk_dropout")] double TrunkDropout,
    [property: JsonPropertyName("branch_dropout")] double BranchDropout,
    [property: JsonPropertyName("tasks")] IReadOnlyList<TaskManifest> Tasks);

public sealed record TaskManifest(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("kind")] string Kind);

public sealed record MetricsManifest(
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("mse")] double Mse,
    [property: JsonPropertyName("mae")] double Mae,
    [property: JsonPropertyName("pearson")] double Pearson,
    [property: JsonPropertyName("spearman")] double Spearman);
