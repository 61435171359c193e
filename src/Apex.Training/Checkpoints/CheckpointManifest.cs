using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Apex.Training.Data;
using Apex.Training.Training;

namespace Apex.Training.Checkpoints;

/// <summary>The JSON manifest beside a head's safetensors weights.</summary>
public sealed record CheckpointManifest
{
    /// <summary>The label of a head trained on synthetic data: its scores show the path, not music.</summary>
    public const string SyntheticDemoLabel = "synthetic-demo";

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

    /// <summary>How it was computed: fp32, or mixed (bfloat16 forward and backward, fp32 master weights). The weights are fp32 either way.</summary>
    [JsonPropertyName("precision")]
    public string? Precision { get; init; }

    /// <summary>Learnt ½·exp(−s_i) per task under uncertainty weighting.</summary>
    [JsonPropertyName("task_weights")]
    public IReadOnlyList<float>? TaskWeights { get; init; }

    [JsonPropertyName("data_snapshot")]
    public required string DataSnapshot { get; init; }

    /// <summary>The version this head was fine-tuned from (a live run, <c>apex train --init</c>); null for a head trained from scratch.</summary>
    [JsonPropertyName("parent")]
    public string? Parent { get; init; }

    /// <summary>The encoder whose embeddings trained this head (name, content hash, shape, rate); null for synthetic data. The head scores only that encoder's embeddings.</summary>
    [JsonPropertyName("encoder")]
    public string? Encoder { get; init; }

    /// <summary>The seed of the stratified split, so that evaluation can re-derive the same test songs.</summary>
    [JsonPropertyName("split_seed")]
    public int SplitSeed { get; init; }

    /// <summary>The sizes of the split's parts and a fingerprint of its test songs.</summary>
    [JsonPropertyName("split")]
    public SplitManifest? Split { get; init; }

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
    [property: JsonPropertyName("spearman")] double Spearman)
{
    /// <summary>Per task, as the manifest stores them.</summary>
    public static IReadOnlyDictionary<string, MetricsManifest> Of(IEnumerable<TaskMetrics> metrics) =>
        metrics.ToDictionary(m => m.Task, m => new MetricsManifest(m.Report.Count, m.Report.Mse, m.Report.Mae, m.Report.Pearson, m.Report.Spearman));
}

/// <summary>
/// The split a checkpoint was trained and tested on: its seed, the sizes of its parts and the SHA-256 of
/// its test songs' ids (sorted, one per line), so that anyone re-deriving the split from the same data
/// can check they hold the same test songs.
/// </summary>
public sealed record SplitManifest(
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("train")] int Train,
    [property: JsonPropertyName("validation")] int Validation,
    [property: JsonPropertyName("test")] int Test,
    [property: JsonPropertyName("test_songs_sha256")] string TestSongs)
{
    public static SplitManifest Of(SplitParts parts, int seed)
    {
        ArgumentNullException.ThrowIfNull(parts);
        return new SplitManifest(seed, parts.Split.Train.Length, parts.Split.Validation.Length, parts.Split.Test.Length, Fingerprint(parts.Test.Select(r => r.TrackId)));
    }

    public static string Fingerprint(IEnumerable<string> trackIds) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', trackIds.Order(StringComparer.Ordinal)))));
}
