using System.Globalization;
using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Distributed;
using Apex.Training.Model;

namespace Apex.Training.Training;

/// <summary>How a live run fine-tunes the serving head.</summary>
public sealed record FineTuningOptions
{
    public int GhostBatches { get; init; } = 4;

    public int GlobalBatch { get; init; } = 64;

    public int Epochs { get; init; } = 30;

    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Seeds the split (as <c>apex train --seed</c>), the initialisation and the ghost-batch draws.</summary>
    public int Seed { get; init; } = 42;
}

/// <summary>
/// The live trainer's run, with the parts <c>apex train</c> and <c>apex evaluate</c> use: the labelled
/// songs (labels from <see cref="Apex.Core.Popularity.SongLabeler"/>, one row per song with its mean
/// embedding) are split by <see cref="SplitParts.FromRows"/> (the 85/10/5 stratified split of
/// <c>apex train</c>), the serving head is fine-tuned on the training part by data-parallel ghost-batch
/// steps over whatever workers the caller brings, candidate and serving head are scored on the test part
/// by <see cref="Predictor"/> (what <c>apex evaluate</c> reports), and the candidate is saved with its own
/// manifest: its test metrics, its split and its data snapshot (the rows, as a dataset file in the
/// checkpoint, so that <c>apex evaluate --data</c> on it gives the same figures).
/// </summary>
public sealed class FineTuning : IDisposable
{
    /// <summary>The dataset file in a checkpoint fine-tuned live: the rows it was trained and tested on.</summary>
    public const string SnapshotFile = "snapshot.parquet";

    private readonly IReadOnlyList<SongRow> _rows;
    private readonly DatasetInfo _info;
    private readonly FineTuningOptions _options;

    private FineTuning(IReadOnlyList<SongRow> rows, DatasetInfo info, ApexHead serving, FineTuningOptions options)
    {
        _rows = rows;
        _info = info;
        _options = options;
        var tasks = serving.Architecture.Tasks;
        Parts = SplitParts.FromRows(rows, options.Seed);
        Train = TrainingSet.Build(Parts.Train, info, tasks, InputMode.Song);
        Test = TrainingSet.Build(Parts.Test, info, tasks, InputMode.Song);
        Parallel = new DataParallelOptions
        {
            GhostBatches = options.GhostBatches,
            GlobalBatch = Math.Min(options.GlobalBatch, Math.Max(2 * options.GhostBatches, Train.SampleCount)),
            Training = new TrainingOptions { Seed = options.Seed, LearningRate = options.LearningRate },
        };
        Steps = (long)options.Epochs * Math.Max(1, (int)Math.Ceiling(Train.SampleCount / (double)Parallel.GlobalBatch));
        Coordinator = new DataParallelCoordinator(serving.Architecture, tasks, Parallel);
        Coordinator.Replica.LoadHead(serving);
    }

    public SplitParts Parts { get; }

    public TrainingSet Train { get; }

    public TrainingSet Test { get; }

    public DataParallelOptions Parallel { get; }

    public long Steps { get; }

    public DataParallelCoordinator Coordinator { get; }

    public ApexHead Candidate => Coordinator.Replica.Head;

    /// <summary>Splits the rows (one per song, <see cref="SongRow.Segments"/> 1) and starts a coordinator from the serving head.</summary>
    public static FineTuning Prepare(IReadOnlyList<SongRow> rows, DatasetInfo info, ApexHead serving, FineTuningOptions options)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(serving);
        ArgumentNullException.ThrowIfNull(options);
        if (rows.Any(r => r.Segments != 1 || r.Embedding.Length != info.SegmentWidth))
        {
            throw new ArgumentException($"Each row holds one song mean of {info.Layers} × {info.Hidden}.", nameof(rows));
        }

        return new FineTuning(rows, info, serving, options);
    }

    /// <summary>Per-task metrics of a head on the test part, as <c>apex evaluate --split test</c> computes them.</summary>
    public IReadOnlyList<TaskMetrics> Evaluate(ApexHead head) => Predictor.Evaluate(Predictor.PredictSongs(head, Test), Test);

    /// <summary>Saves the candidate with its own manifest (parent's architecture, mode and encoder; this run's metrics, split and data).</summary>
    public async Task<CheckpointManifest> SaveAsync(string folder, CheckpointManifest parent, string version, string description, IReadOnlyList<TaskMetrics> metrics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parent);
        // Beside the checkpoint (its file system), so that the save moves the snapshot in rather than copying it.
        var staging = Path.GetFullPath(folder) + ".snapshot";
        Directory.CreateDirectory(staging);
        try
        {
            var data = Path.Combine(staging, SnapshotFile);
            await ParquetDataset.WriteAsync(data, _rows, _info, cancellationToken: cancellationToken);
            var manifest = parent with
            {
                Version = version,
                Label = null,
                Batch = string.Create(CultureInfo.InvariantCulture, $"{Parallel.GhostBatches} × {Parallel.GhostSize}"),
                Precision = "fp32",
                DataSnapshot = $"{TrainingRun.DescribeData(data, _rows.Count)}; {description}",
                Encoder = _info.Encoder ?? parent.Encoder,
                SplitSeed = _options.Seed,
                Split = SplitManifest.Of(Parts, _options.Seed),
                BestEpoch = 0,
                TestMetrics = MetricsManifest.Of(metrics),
                CreatedAt = DateTimeOffset.UtcNow,
            };
            Candidate.eval();
            HeadCheckpoint.Save(folder, Candidate, manifest, [data]);
            return manifest;
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    public void Dispose() => Coordinator.Dispose();
}
