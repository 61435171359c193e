using System.Globalization;
using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Distributed;
using Apex.Training.Model;

namespace Apex.Training.Training;

/// <summary>
/// The live trainer's run, with the parts <c>apex train</c> and <c>apex evaluate</c> use: the labelled
/// songs (labels from <see cref="Apex.Core.Popularity.SongLabeler"/>, one row per song with its mean
/// embedding) are split by <see cref="SplitParts.FromRows"/> (the 85/10/5 stratified split of
/// <c>apex train</c>), the serving head is fine-tuned on the training part by <see cref="Trainer"/> (the
/// loop of <c>apex train --init</c>: the same steps, epochs, schedule and early stopping) over whatever
/// workers the caller brings, candidate and serving head are scored on the test part by
/// <see cref="Predictor"/> (what <c>apex evaluate</c> reports), and the candidate is saved with its own
/// manifest: its test metrics, its split and its data snapshot (the rows, as a dataset file in the
/// checkpoint, so that <c>apex train --init</c> and <c>apex evaluate --data</c> on it give the same head
/// and figures).
/// </summary>
public sealed class FineTuning : IDisposable
{
    /// <summary>The dataset file in a checkpoint fine-tuned live: the rows it was trained and tested on.</summary>
    public const string SnapshotFile = "snapshot.parquet";

    private readonly IReadOnlyList<SongRow> _rows;
    private readonly DatasetInfo _info;
    private readonly ApexHead _serving;
    private TrainedHead? _trained;

    private FineTuning(IReadOnlyList<SongRow> rows, DatasetInfo info, ApexHead serving, TrainingOptions options)
    {
        _rows = rows;
        _info = info;
        _serving = serving;
        Options = options with { Mode = InputMode.Song };
        var tasks = serving.Architecture.Tasks;
        Parts = SplitParts.FromRows(rows, options.Seed);
        Train = TrainingSet.Build(Parts.Train, info, tasks, InputMode.Song);
        Validation = TrainingSet.Build(Parts.Validation, info, tasks, InputMode.Song);
        Test = TrainingSet.Build(Parts.Test, info, tasks, InputMode.Song);
    }

    public TrainingOptions Options { get; }

    /// <summary>The serving head's architecture, which the candidate keeps.</summary>
    public HeadArchitecture Architecture => _serving.Architecture;

    public SplitParts Parts { get; }

    public TrainingSet Train { get; }

    public TrainingSet Validation { get; }

    public TrainingSet Test { get; }

    /// <summary>Steps if no epoch stops early.</summary>
    public long Steps => (long)Options.Epochs * (int)Math.Ceiling(Train.SampleCount / (double)(Options.BatchSize * Options.GhostBatches));

    /// <summary>The fine-tuned head, once <see cref="TrainAsync"/> has run.</summary>
    public ApexHead Candidate => (_trained ?? throw new InvalidOperationException("The run has not trained yet.")).Head;

    public TrainedHead Trained => _trained ?? throw new InvalidOperationException("The run has not trained yet.");

    /// <summary>Splits the rows (one per song, <see cref="SongRow.Segments"/> 1) and starts a coordinator from the serving head.</summary>
    public static FineTuning Prepare(IReadOnlyList<SongRow> rows, DatasetInfo info, ApexHead serving, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(serving);
        ArgumentNullException.ThrowIfNull(options);
        if (rows.Any(r => r.Segments != 1 || r.Embedding.Length != info.SegmentWidth))
        {
            throw new ArgumentException($"Each row holds one song mean of {info.Layers} × {info.Hidden}.", nameof(rows));
        }

        return new FineTuning(rows, info, serving, options.Validate());
    }

    /// <summary>Fine-tunes the serving head on the training part, its ghost batches computed by <paramref name="workers"/>.</summary>
    public async Task<TrainedHead> TrainAsync(WorkerPool workers, Action<StepReport>? steps = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workers);
        if (_trained is not null)
        {
            throw new InvalidOperationException("The run has trained already.");
        }

        _trained = await Trainer.TrainAsync(Train, Validation, Options, new TrainingStart { Init = _serving, Workers = workers, Steps = steps }, cancellationToken);
        return _trained;
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
                Loss = Options.Loss.ToString().ToLowerInvariant(),
                Batch = string.Create(CultureInfo.InvariantCulture, $"{Options.GhostBatches} × {Options.BatchSize}"),
                Precision = Options.MixedOn(onCuda: false) ? "mixed (bfloat16)" : "fp32",
                TaskWeights = Options.Loss == LossStrategy.Uncertainty ? Trained.Loss.TaskWeights() : null,
                Parent = parent.Version,
                DataSnapshot = $"{TrainingRun.DescribeData(data, _rows.Count)}; {description}",
                Encoder = _info.Encoder ?? parent.Encoder,
                SplitSeed = Options.Seed,
                Split = SplitManifest.Of(Parts, Options.Seed),
                BestEpoch = Trained.BestEpoch,
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

    public void Dispose()
    {
        _trained?.Head.Dispose();
        _trained?.Loss.Dispose();
    }
}
